//! What a resolver knows about the request: who is asking and from where.
//! It lives in the request's data, never the schema's.

use std::sync::Arc;

use async_graphql::Context;

use super::loaders::{Cached, Loaders, RequestLoader};
use crate::{
    Core,
    actor::Actor,
    error::{AppError, AppResult},
};
pub use crate::{actor::RequestMeta, auth::Viewer};

#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub viewer: Option<Viewer>,
    pub meta: RequestMeta,
}

pub trait ContextExt {
    fn core(&self) -> &Arc<Core>;
    fn request(&self) -> &RequestContext;
    /// The signed-in viewer, or `UNAUTHENTICATED`.
    fn viewer(&self) -> AppResult<&Viewer>;
    fn meta(&self) -> &RequestMeta {
        &self.request().meta
    }
    fn set_cookie(&self, value: String);
    /// The request's DataLoaders.
    fn loaders(&self) -> AppResult<&Loaders>;
    /// The request's loader of kind `L`.
    fn loader<L: RequestLoader>(&self) -> AppResult<Arc<Cached<L>>> {
        Ok(self.loaders()?.get::<L>())
    }
    /// The signed-in viewer as the actor of a change, or `UNAUTHENTICATED`.
    fn actor(&self) -> AppResult<Actor> {
        Ok(Actor::user(self.viewer()?.user.id, self.meta()))
    }
}

impl ContextExt for Context<'_> {
    fn core(&self) -> &Arc<Core> {
        self.data_unchecked::<Arc<Core>>()
    }

    fn request(&self) -> &RequestContext {
        static ANONYMOUS: std::sync::OnceLock<RequestContext> = std::sync::OnceLock::new();
        self.data_opt::<RequestContext>()
            .unwrap_or_else(|| ANONYMOUS.get_or_init(RequestContext::default))
    }

    fn viewer(&self) -> AppResult<&Viewer> {
        self.request()
            .viewer
            .as_ref()
            .ok_or(AppError::Unauthenticated)
    }

    fn set_cookie(&self, value: String) {
        self.append_http_header(http::header::SET_COOKIE, value);
    }

    fn loaders(&self) -> AppResult<&Loaders> {
        self.data_opt::<Arc<Loaders>>()
            .map(Arc::as_ref)
            .ok_or_else(|| AppError::internal("request has no loaders"))
    }
}
