//! What a request must pass before it runs: hostile documents are refused
//! fast with their own code while the server keeps answering others, and
//! the status codes follow the GraphQL-over-HTTP spec.

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::support::{Client, GqlResponse, TestApp, TestConfig, ops};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// `fragment Fn on Query { ...Fn-1 ...Fn-1 }`, `levels` deep: about 40
/// bytes a level, 2^levels fields once expanded.
fn fragment_bomb(levels: usize) -> String {
    let mut doc = format!("query Bomb {{ ...F{levels} }}\nfragment F0 on Query {{ __typename }}\n");
    for level in 1..=levels {
        let below = level - 1;
        doc.push_str(&format!(
            "fragment F{level} on Query {{ ...F{below} ...F{below} }}\n"
        ));
    }
    doc
}

async fn post_as(client: &Client, accept: &str, body: Value) -> GqlResponse {
    let response = client
        .http()
        .post(client.url("/graphql"))
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .expect("request");
    GqlResponse::read(response).await
}

#[tokio::test]
async fn fragment_bombs_and_alias_floods_are_refused_fast_while_others_are_answered() {
    let app = TestApp::spawn().await;
    let bomb = fragment_bomb(40);
    assert!(bomb.len() < 2_000);
    let started = Instant::now();
    let res = app.client().gql(&bomb, json!({})).await;
    res.assert_code("QUERY_TOO_COMPLEX");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // Sixteen bombs and sixteen 10,000-alias documents at once, and an
    // ordinary request among them.
    let aliases: String = (0..10_000).map(|i| format!("a{i}: apiVersion ")).collect();
    let wide = format!("{{ {aliases} }}");
    let bombs = (0..32).map(|i| {
        let client = app.client();
        let document = if i % 2 == 0 {
            bomb.clone()
        } else {
            wide.clone()
        };
        tokio::spawn(async move { client.gql(&document, json!({})).await.code() })
    });
    let bombs: Vec<_> = bombs.collect();
    let started = Instant::now();
    let ordinary = app.client().gql(ops::PLAN_IDS, json!({})).await;
    assert!(!ordinary.data()["plans"].as_array().unwrap().is_empty());
    assert!(started.elapsed() < Duration::from_secs(2));
    for bomb in bombs {
        assert_eq!(bomb.await.unwrap(), "QUERY_TOO_COMPLEX");
    }
}

#[tokio::test]
async fn cyclic_fragments_are_refused_and_the_server_survives() {
    let app = TestApp::spawn().await;
    let res = app
        .client()
        .gql(
            "query { ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }",
            json!({}),
        )
        .await;
    res.assert_code("GRAPHQL_VALIDATION_FAILED");
    let res = app
        .client()
        .gql(
            "{ ...A } fragment A on Query { plans { id } ...A }",
            json!({}),
        )
        .await;
    res.assert_code("GRAPHQL_VALIDATION_FAILED");
    app.client().gql(ops::API_VERSION, json!({})).await.data();
}

#[tokio::test]
async fn huge_wide_and_deep_documents_are_refused_by_size() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let aliases: String = (0..10_000).map(|i| format!("a{i}: apiVersion ")).collect();
    let started = Instant::now();
    let res = client.gql(&format!("{{ {aliases} }}"), json!({})).await;
    res.assert_code("QUERY_TOO_COMPLEX");
    assert!(
        res.first_error()["message"]
            .as_str()
            .unwrap()
            .contains("tokens")
    );
    // Under the token limit, the alias limit still holds.
    let aliases: String = (0..60).map(|i| format!("a{i}: apiVersion ")).collect();
    let res = client.gql(&format!("{{ {aliases} }}"), json!({})).await;
    res.assert_code("QUERY_TOO_COMPLEX");
    assert!(
        res.first_error()["message"]
            .as_str()
            .unwrap()
            .contains("aliases")
    );
    // Deep nesting is refused before the parser recurses into it.
    let deep = format!("{}{}", "{ viewer ".repeat(20_000), "}".repeat(20_000));
    let res = client.gql(&deep, json!({})).await;
    res.assert_code("QUERY_TOO_COMPLEX");
    // Too deep for the depth limit, though each level is cheap.
    let deep_fields = "{ viewer { organizations { edges { node { members { edges { node { user { organizations { edges { node { members { edges { node { user { id } } } } } } } } } } } } } } } }";
    let res = client.gql(deep_fields, json!({})).await;
    res.assert_code("QUERY_TOO_COMPLEX");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn directives_on_one_field_are_limited() {
    let app = TestApp::spawn_with(TestConfig::default().var("GRAPHQL_MAX_DIRECTIVES", "1")).await;
    let client = app.client();
    client
        .gql("{ apiVersion @include(if: true) }", json!({}))
        .await
        .data();
    let res = client
        .gql(
            "{ apiVersion @include(if: true) @skip(if: false) }",
            json!({}),
        )
        .await;
    res.assert_code("QUERY_TOO_COMPLEX");
}

#[tokio::test]
async fn nested_lists_cost_their_page_sizes_and_the_dashboard_fits() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("amplifier@example.com", "A").await;
    // organizations -> members -> user -> organizations -> members -> user
    // -> organizations: each list multiplies what it selects.
    let hop = "organizations { edges { node { members { edges { node { user { ";
    let opened = format!("{{ viewer {{ {hop}{hop}organizations {{ edges {{ node {{ id ");
    let amplification = format!("{opened}{}", "} ".repeat(opened.matches('{').count()));
    let res = user.client.gql(&amplification, json!({})).await;
    res.assert_code("QUERY_TOO_COMPLEX");
    assert!(
        res.first_error()["message"]
            .as_str()
            .unwrap()
            .contains("costs")
    );
    let res = user
        .client
        .gql(
            "{ viewer { organizations(first: 100) { edges { node { projects(first: 100) { edges { node { id name } } } } } } } }",
            json!({}),
        )
        .await;
    res.assert_code("QUERY_TOO_COMPLEX");
    // What a frontend's dashboard asks for is let through.
    user.client.gql(ops::DASHBOARD, json!({})).await.data();
}

#[tokio::test]
async fn a_batch_shares_one_cost_budget() {
    let app = TestApp::spawn_with(TestConfig::default().var("GRAPHQL_MAX_COMPLEXITY", "150")).await;
    let user = app.sign_up("batcher@example.com", "B").await;
    // 102 each (20 organizations times 5, plus viewer and the list): one
    // fits, two together do not.
    let query = "{ viewer { organizations(first: 20) { edges { node { id name slug } } } } }";
    user.client.gql(query, json!({})).await.data();
    let batch = json!([{ "query": query }, { "query": query }]);
    let res = user.client.post_json(&batch).await;
    let answers = res.body.as_array().expect("a batch answer").clone();
    let refused = answers
        .iter()
        .filter(|a| a["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX")
        .count();
    assert_eq!(refused, 1, "{answers:?}");
}

#[tokio::test]
async fn every_refusal_has_its_code_and_the_spec_status() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "BAD_REQUEST"),
        (json!({ "query": 5 }), "BAD_REQUEST"),
        (
            json!({ "query": "{ viewer { id }" }),
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            json!({ "query": ops::UNKNOWN_FIELD }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({ "query": "{ node(id: 5.5) { id } }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({ "query": "query($id: ID!) { node(id: $id) { id } }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({ "query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": { "ids": { "not": "a list" } } }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({ "query": "query A { apiVersion } query B { apiVersion }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            json!({ "query": ops::API_VERSION, "operationName": "Missing" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (json!({ "query": fragment_bomb(30) }), "QUERY_TOO_COMPLEX"),
        (
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "ab".repeat(32) } } }),
            "PERSISTED_QUERY_NOT_FOUND",
        ),
    ];
    for (body, code) in &cases {
        let modern = post_as(&client, GRAPHQL_RESPONSE, body.clone()).await;
        modern.assert_code(code);
        assert_eq!(modern.status, 400, "{body}: {}", modern.body);
        assert!(modern.body.get("data").is_none(), "{body}: {}", modern.body);
        assert_eq!(modern.headers["content-type"], GRAPHQL_RESPONSE, "{body}");
        let legacy = post_as(&client, "application/json", body.clone()).await;
        legacy.assert_code(code);
        let expected = if *code == "BAD_REQUEST" { 400 } else { 200 };
        assert_eq!(legacy.status, expected, "{body}: {}", legacy.body);
    }
    // Errors raised while executing keep 200 and their data.
    let res = post_as(
        &client,
        GRAPHQL_RESPONSE,
        json!({ "query": "{ apiVersion organization(slug: \"x\") { id } }" }),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["data"]["apiVersion"], "0.1.0");
    assert_eq!(res.code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_request_past_its_deadline_ends_with_an_error_and_rolls_back() {
    let app = TestApp::spawn_with(TestConfig::default().var("GRAPHQL_TIMEOUT", "5ms")).await;
    let res = app
        .client()
        .gql(
            "mutation { signUp(input: { email: \"slow@example.com\", password: \"correct horse battery\", name: \"Slow\" }) { token } }",
            json!({}),
        )
        .await;
    res.assert_code("INTERNAL");
    assert!(res.first_error()["extensions"]["errorId"].is_string());
    // Nothing of the sign-up was kept.
    let count = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM users",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(count, 0);
    app.client().gql(ops::API_VERSION, json!({})).await.data();
}
