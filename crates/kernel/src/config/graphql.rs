//! The GraphQL settings: admission limits and persisted documents.

use std::{collections::HashMap, time::Duration};

use super::{ConfigError, env::Env};

/// Limits applied to every GraphQL operation before it runs.
#[derive(Debug, Clone)]
pub struct GraphqlLimits {
    /// Lexical tokens a document may have; counted before it is parsed.
    pub max_tokens: usize,
    /// Field selections an operation has once every fragment spread is
    /// expanded; computed without expanding.
    pub max_fields: usize,
    pub max_depth: usize,
    /// The cost an operation (or a whole batch) may have: a list field
    /// costs its selection times its `first`.
    pub max_complexity: usize,
    /// Nesting of braces, brackets and parentheses, checked before parsing.
    pub max_recursive_depth: usize,
    /// Directives on one field.
    pub max_directives: usize,
    /// Aliased fields in an operation, fragments expanded.
    pub max_aliases: usize,
    /// How long one query or mutation may run.
    pub timeout: Duration,
    pub persisted: PersistedDocuments,
    /// Automatic persisted queries remembered (per process).
    pub apq_cache_size: usize,
    /// Operations allowed in one batched request; 0 turns batching off.
    pub max_batch: usize,
    pub introspection: bool,
    pub suggestions: bool,
    pub graphiql: bool,
}

/// Trusted documents: which documents the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistedMode {
    /// Any document; automatic persisted queries work.
    Off,
    /// Any document, and the manifest's by hash.
    Allow,
    /// The manifest's documents only.
    Only,
}

#[derive(Debug, Clone)]
pub struct PersistedDocuments {
    pub mode: PersistedMode,
    /// sha256 (hex) of a document to the document, as graphql-codegen's
    /// client preset writes `persisted-documents.json`.
    pub manifest: std::sync::Arc<HashMap<String, String>>,
}

pub(super) fn limits(env: &Env<'_>, dev: bool) -> Result<GraphqlLimits, ConfigError> {
    Ok(GraphqlLimits {
        max_tokens: env.parse_positive("GRAPHQL_MAX_TOKENS", 15_000)?,
        max_fields: env.parse_positive("GRAPHQL_MAX_FIELDS", 2_000)?,
        max_depth: env.parse_positive("GRAPHQL_MAX_DEPTH", 15)?,
        max_complexity: env.parse_positive("GRAPHQL_MAX_COMPLEXITY", 20_000)?,
        max_recursive_depth: env.parse_positive("GRAPHQL_MAX_RECURSIVE_DEPTH", 32)?,
        max_directives: env.parse_positive("GRAPHQL_MAX_DIRECTIVES", 8)?,
        max_aliases: env.parse_positive("GRAPHQL_MAX_ALIASES", 50)?,
        timeout: env.duration("GRAPHQL_TIMEOUT", "15s")?,
        persisted: persisted_documents(env)?,
        apq_cache_size: env.parse("GRAPHQL_APQ_CACHE_SIZE", 1_000)?,
        max_batch: env.parse("GRAPHQL_MAX_BATCH", 10)?,
        introspection: env.switch("GRAPHQL_INTROSPECTION", dev)?,
        suggestions: env.switch("GRAPHQL_SUGGESTIONS", dev)?,
        graphiql: env.switch("GRAPHIQL", dev)?,
    })
}

/// `PERSISTED_DOCUMENTS` and the manifest it needs, read and checked once:
/// a manifest whose hash does not match its document would let a changed
/// file run documents nobody reviewed.
fn persisted_documents(env: &Env<'_>) -> Result<PersistedDocuments, ConfigError> {
    let mode = match env.get("PERSISTED_DOCUMENTS").as_deref() {
        None | Some("off") => PersistedMode::Off,
        Some("allow") => PersistedMode::Allow,
        Some("only") => PersistedMode::Only,
        Some(other) => {
            return Err(env.bad(
                "PERSISTED_DOCUMENTS",
                format!("expected off, allow or only, got {other:?}"),
            ));
        }
    };
    let var = "PERSISTED_DOCUMENTS_MANIFEST";
    let manifest = match env.get(var) {
        None if mode == PersistedMode::Off => HashMap::new(),
        None => {
            return Err(env.bad(
                var,
                "required when PERSISTED_DOCUMENTS is allow or only".into(),
            ));
        }
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| env.bad(var, format!("cannot read {path}: {e}")))?;
            let manifest: HashMap<String, String> = serde_json::from_str(&text).map_err(|e| {
                env.bad(
                    var,
                    format!("{path} is not a JSON object of hash to document: {e}"),
                )
            })?;
            // graphql-codegen writes sha256 keys as `sha256:<hex>` (the
            // GraphQL-over-HTTP document id form); they are looked up by the hex.
            let mut by_hash = HashMap::with_capacity(manifest.len());
            for (key, document) in manifest {
                let hash = key.strip_prefix("sha256:").unwrap_or(&key);
                let hash = hash.to_ascii_lowercase();
                if crate::crypto::sha256_hex(document.as_bytes()) != hash {
                    return Err(env.bad(
                        var,
                        format!("the sha256 of the document under {key:?} is not that hash"),
                    ));
                }
                by_hash.insert(hash, document);
            }
            by_hash
        }
    };
    Ok(PersistedDocuments {
        mode,
        manifest: std::sync::Arc::new(manifest),
    })
}
