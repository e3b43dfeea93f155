//! Schema assembly (the roots are the slices', merged in `slices`), and
//! the limits every operation runs under.

pub mod admission;
pub mod context;
pub mod enums;
pub mod guards;
pub mod ids;
pub mod live;
pub mod loaders;
pub mod meta;
pub mod node;
pub mod pagination;

use async_graphql::{Schema, SchemaBuilder};
use chrono::{DateTime, Utc};

use crate::{
    config::GraphqlLimits,
    slices::{MutationRoot, QueryRoot, SubscriptionRoot},
};

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema without runtime data: enough to print the SDL.
pub fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .override_output_type_description::<DateTime<Utc>>(
        "A point in time as an RFC 3339 timestamp in UTC, e.g. 2026-11-26T09:30:00.123456+00:00.",
    )
}

/// The SDL that `groundwork schema` prints and `schema.graphql` holds.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Applies the configured limits. Schema-wide data is limited to what may be
/// shared by every user; anything per-user goes into the request's data.
pub fn with_limits(
    mut builder: SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot>,
    limits: &GraphqlLimits,
    apq: std::sync::Arc<admission::ApqCache>,
) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    // Every limit is the admission extension's, so each refusal carries its
    // code. It parses documents itself without calling on the extensions
    // registered after it, whose `parse_query` hooks therefore never run.
    builder = builder.extension(admission::Admission::new(limits, apq));
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    if !limits.suggestions {
        builder = builder.disable_suggestions();
    }
    builder
}
