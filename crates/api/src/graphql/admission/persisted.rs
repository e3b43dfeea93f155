//! Persisted documents: Apollo's automatic persisted queries (a client sends
//! a document's sha256, and the document only when the server does not know
//! it yet) and trusted documents (a manifest of the documents a frontend was
//! built with; in `only` mode nothing else runs).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use async_graphql::{Request, ServerError, Value};

use crate::{
    config::{PersistedDocuments, PersistedMode},
    crypto::sha256_hex,
    error::{CodedError, ErrorCode},
};

/// Documents registered by automatic persisted queries, per process. A client
/// that reaches another replica, or one that forgot the document, is told
/// `PERSISTED_QUERY_NOT_FOUND` and sends the text again, so nothing depends
/// on this being shared or complete. Oldest registrations go first.
pub struct ApqCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

/// Documents by hash, and their hashes in the order they were registered.
type Entries = (HashMap<String, Arc<str>>, VecDeque<String>);

impl ApqCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    fn get(&self, hash: &str) -> Option<Arc<str>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.0.get(hash).cloned()
    }

    pub fn insert(&self, hash: String, document: &str) {
        if self.capacity == 0 {
            return;
        }
        let mut guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        if map.contains_key(&hash) {
            return;
        }
        while map.len() >= self.capacity {
            match order.pop_front() {
                Some(oldest) => map.remove(&oldest),
                None => break,
            };
        }
        map.insert(hash.clone(), Arc::from(document));
        order.push_back(hash);
    }
}

/// The hash a request names: Apollo's `extensions.persistedQuery.sha256Hash`
/// (the HTTP layer also files a body's `documentId` there).
fn requested_hash(request: &mut Request) -> Result<Option<String>, ServerError> {
    let Some(value) = request.extensions.remove("persistedQuery") else {
        return Ok(None);
    };
    let malformed = || {
        ErrorCode::BadRequest.error(
            "extensions.persistedQuery must be { version: 1, sha256Hash: \"<64 hex digits>\" }.",
        )
    };
    let Value::Object(fields) = value else {
        return Err(malformed());
    };
    if let Some(version) = fields.get("version")
        && *version != Value::from(1)
    {
        return Err(malformed());
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(Some(hash.to_ascii_lowercase()))
        }
        _ => Err(malformed()),
    }
}

/// Fills in the document a hash names and enforces trusted-documents mode.
/// Returns the hash to register once the document has passed validation,
/// when the client asked to persist a new one.
pub fn resolve(
    request: &mut Request,
    trusted: &PersistedDocuments,
    apq: &ApqCache,
) -> Result<Option<String>, ServerError> {
    let hash = requested_hash(request)?;
    let mode = trusted.mode;
    if request.query.trim().is_empty() {
        let Some(hash) = hash else {
            return Err(ErrorCode::BadRequest.error("The request has no query."));
        };
        let known = match mode {
            PersistedMode::Off => None,
            PersistedMode::Allow | PersistedMode::Only => {
                trusted.manifest.get(&hash).map(|d| Arc::from(d.as_str()))
            }
        };
        let known = known.or_else(|| {
            (mode != PersistedMode::Only)
                .then(|| apq.get(&hash))
                .flatten()
        });
        // Apollo's persisted-query link looks for this exact message.
        let document = known
            .ok_or_else(|| ErrorCode::PersistedQueryNotFound.error("PersistedQueryNotFound"))?;
        request.query = document.to_string();
        return Ok(None);
    }
    let actual = sha256_hex(request.query.as_bytes());
    if hash.as_ref().is_some_and(|h| *h != actual) {
        return Err(ErrorCode::BadRequest.error("provided sha does not match query"));
    }
    if mode == PersistedMode::Only && !trusted.manifest.contains_key(&actual) {
        return Err(ErrorCode::PersistedQueryNotAllowed
            .error("This server runs only its persisted documents; send one by its hash."));
    }
    Ok(hash.filter(|_| mode != PersistedMode::Only))
}

/// The document a request will run, resolving a hash without registering
/// anything: lets the HTTP layer see which operation type a GET would run.
pub fn peek(request: &Request, trusted: &PersistedDocuments, apq: &ApqCache) -> Option<String> {
    let mut copy = Request::new(request.query.clone());
    copy.extensions = request.extensions.clone();
    resolve(&mut copy, trusted, apq).ok()?;
    Some(copy.query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(mode: PersistedMode, docs: &[&str]) -> PersistedDocuments {
        PersistedDocuments {
            mode,
            manifest: Arc::new(
                docs.iter()
                    .map(|d| (sha256_hex(d.as_bytes()), (*d).to_owned()))
                    .collect(),
            ),
        }
    }

    fn by_hash(hash: &str) -> Request {
        let mut request = Request::new("");
        request.extensions.insert(
            "persistedQuery".into(),
            Value::from_json(serde_json::json!({ "version": 1, "sha256Hash": hash })).unwrap(),
        );
        request
    }

    fn code(err: ServerError) -> String {
        err.extensions.unwrap().get("code").unwrap().to_string()
    }

    #[test]
    fn automatic_persisted_queries_round_trip() {
        let apq = ApqCache::new(2);
        let off = trusted(PersistedMode::Off, &[]);
        let doc = "{ viewer { id } }";
        let hash = sha256_hex(doc.as_bytes());
        let err = resolve(&mut by_hash(&hash), &off, &apq).unwrap_err();
        assert_eq!(code(err), "\"PERSISTED_QUERY_NOT_FOUND\"");
        let mut full = by_hash(&hash);
        full.query = doc.into();
        let register = resolve(&mut full, &off, &apq).unwrap();
        apq.insert(register.unwrap(), doc);
        let mut again = by_hash(&hash);
        resolve(&mut again, &off, &apq).unwrap();
        assert_eq!(again.query, doc);
        let mut lying = by_hash(&hash);
        lying.query = "{ plans { id } }".into();
        assert_eq!(
            code(resolve(&mut lying, &off, &apq).unwrap_err()),
            "\"BAD_REQUEST\""
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let apq = ApqCache::new(2);
        for i in 0..5 {
            apq.insert(format!("h{i}"), "{ a }");
        }
        assert!(apq.get("h0").is_none());
        assert!(apq.get("h4").is_some());
        assert_eq!(apq.entries.lock().unwrap().0.len(), 2);
    }

    #[test]
    fn only_mode_runs_the_manifest_and_nothing_else() {
        let apq = ApqCache::new(10);
        let doc = "query Dashboard { viewer { id } }";
        let only = trusted(PersistedMode::Only, &[doc]);
        let mut known = by_hash(&sha256_hex(doc.as_bytes()));
        assert_eq!(resolve(&mut known, &only, &apq).unwrap(), None);
        assert_eq!(known.query, doc);
        let mut same_text = Request::new(doc);
        resolve(&mut same_text, &only, &apq).unwrap();
        let mut other = Request::new("{ plans { id } }");
        assert_eq!(
            code(resolve(&mut other, &only, &apq).unwrap_err()),
            "\"PERSISTED_QUERY_NOT_ALLOWED\""
        );
        let mut register = by_hash(&sha256_hex(b"{ plans { id } }"));
        register.query = "{ plans { id } }".into();
        assert_eq!(
            code(resolve(&mut register, &only, &apq).unwrap_err()),
            "\"PERSISTED_QUERY_NOT_ALLOWED\""
        );
    }
}
