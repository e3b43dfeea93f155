//! Persisted documents: automatic persisted queries as Apollo's link uses
//! them, and trusted documents (`PERSISTED_DOCUMENTS=only`) that refuse
//! everything else on every transport.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{
    TestApp, TestConfig, ops,
    ws::{Auth, Subscription},
};

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn automatic_persisted_queries_round_trip_over_post_and_get() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let query = "query Plans { plans { id } }";
    let hash = sha256(query);

    let res = client.post_json(&json!({ "extensions": apq(&hash) })).await;
    res.assert_code("PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(res.first_error()["message"], "PersistedQueryNotFound");

    let res = client
        .post_json(&json!({ "query": query, "extensions": apq(&hash) }))
        .await;
    assert!(!res.data()["plans"].as_array().unwrap().is_empty());

    let res = client.post_json(&json!({ "extensions": apq(&hash) })).await;
    assert!(!res.data()["plans"].as_array().unwrap().is_empty());

    let url = format!(
        "/graphql?operationName=Plans&extensions={}",
        urlencode(&apq(&hash).to_string())
    );
    let res = crate::support::GqlResponse::read(client.get(&url).await).await;
    assert!(!res.data()["plans"].as_array().unwrap().is_empty());

    // A hash that does not match its text is refused, not stored.
    let res = client
        .post_json(&json!({ "query": ops::API_VERSION, "extensions": apq(&hash) }))
        .await;
    res.assert_code("BAD_REQUEST");
    // A document that fails validation is not remembered either.
    let invalid = ops::UNKNOWN_FIELD;
    let res = client
        .post_json(&json!({ "query": invalid, "extensions": apq(&sha256(invalid)) }))
        .await;
    res.assert_code("GRAPHQL_VALIDATION_FAILED");
    let res = client
        .post_json(&json!({ "extensions": apq(&sha256(invalid)) }))
        .await;
    res.assert_code("PERSISTED_QUERY_NOT_FOUND");
}

#[tokio::test]
async fn a_persisted_mutation_is_still_refused_over_get() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let mutation = "mutation Out { signOut }";
    let hash = sha256(mutation);
    client
        .post_json(&json!({ "query": mutation, "extensions": apq(&hash) }))
        .await
        .data();
    let url = format!("/graphql?extensions={}", urlencode(&apq(&hash).to_string()));
    let response = client.get(&url).await;
    assert_eq!(response.status(), 405);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const PLANS: &str = "query Plans { plans { id name } }";
const EVENTS: &str =
    "subscription Events($org: ID!) { projectEvents(organizationId: $org) { kind } }";
const SIGN_UP: &str =
    "mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } } }";

/// A server that runs only the documents of a manifest in graphql-codegen's
/// `persisted-documents.json` form.
async fn trusted_app() -> (TestApp, tempdir::Dir) {
    let dir = tempdir::Dir::new();
    let manifest: serde_json::Map<String, Value> = [PLANS, EVENTS, SIGN_UP]
        .iter()
        .map(|d| (sha256(d), json!(d)))
        .collect();
    let path = dir.path().join("persisted-documents.json");
    std::fs::write(&path, Value::Object(manifest).to_string()).unwrap();
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("PERSISTED_DOCUMENTS", "only")
            .var("PERSISTED_DOCUMENTS_MANIFEST", path.to_str().unwrap()),
    )
    .await;
    (app, dir)
}

#[tokio::test]
async fn only_mode_runs_the_manifest_and_refuses_everything_else() {
    let (app, _dir) = trusted_app().await;
    let client = app.client();
    let hash = sha256(PLANS);
    for body in [
        json!({ "documentId": format!("sha256:{hash}") }),
        json!({ "documentId": hash }),
        json!({ "extensions": apq(&hash) }),
        json!({ "query": PLANS }),
    ] {
        let res = client.post_json(&body).await;
        assert!(
            !res.data()["plans"].as_array().unwrap().is_empty(),
            "{body}"
        );
    }
    for body in [
        json!({ "query": ops::PLAN_IDS }),
        json!({ "query": ops::API_VERSION, "extensions": apq(&sha256(ops::API_VERSION)) }),
        json!({ "query": "{ __schema { types { name } } }" }),
    ] {
        let res = client.post_json(&body).await;
        res.assert_code("PERSISTED_QUERY_NOT_ALLOWED");
    }
    let res = client
        .post_json(&json!({ "documentId": sha256(ops::API_VERSION) }))
        .await;
    res.assert_code("PERSISTED_QUERY_NOT_FOUND");
    let url = format!("/graphql?query={}", urlencode(ops::API_VERSION));
    let res = crate::support::GqlResponse::read(client.get(&url).await).await;
    res.assert_code("PERSISTED_QUERY_NOT_ALLOWED");

    // The manifest's sign-up works, so a user can subscribe with a token.
    let res = client
        .post_json(&json!({
            "documentId": sha256(SIGN_UP),
            "variables": { "input": { "email": "t@example.com", "password": crate::support::PASSWORD, "name": "T" } }
        }))
        .await;
    let token = res.data()["signUp"]["token"].as_str().unwrap().to_owned();
    // WebSocket operations obey the same rule.
    let mut refused = Subscription::start(
        &app.base_url,
        Auth::Bearer(&token),
        "subscription { projectEvents(organizationId: \"x\") { kind projectId } }",
        json!({}),
    )
    .await;
    let message = refused.next().await;
    // async-graphql reports a refused operation as a `next` carrying errors.
    let errors = match message["type"].as_str() {
        Some("error") => message["payload"].clone(),
        _ => message["payload"]["errors"].clone(),
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED",
        "{message}"
    );
    assert!(message["payload"]["data"].is_null());
}

/// A temporary folder removed when dropped.
mod tempdir {
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("groundwork-{}", uuid::Uuid::now_v7()));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
