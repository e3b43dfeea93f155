//! Brute-force protection: failed sign-ins are limited per account and per
//! IP, counting every attempt however it is packaged.

use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, TestConfig};

const SIGN_IN: &str = "mutation($email: String!, $password: String!) { signIn(input: { email: $email, password: $password }) { token } }";

async fn attempt(app: &TestApp, email: &str, password: &str) -> crate::support::GqlResponse {
    app.client()
        .gql(SIGN_IN, json!({ "email": email, "password": password }))
        .await
}

#[tokio::test]
async fn an_account_is_locked_after_repeated_failures() {
    let app =
        TestApp::spawn_with(TestConfig::default().var("RATE_LIMIT_SIGNIN_ACCOUNT", "3/15m")).await;
    app.sign_up("target@example.com", "Target").await;
    for _ in 0..3 {
        attempt(&app, "target@example.com", "guess guess")
            .await
            .assert_code("UNAUTHENTICATED");
    }
    let locked = attempt(&app, "Target@Example.com", "guess guess").await;
    locked.assert_code("RATE_LIMITED");
    let retry = locked.first_error()["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Even the right password waits out the window.
    attempt(&app, "target@example.com", PASSWORD)
        .await
        .assert_code("RATE_LIMITED");
    // Other accounts are unaffected.
    app.sign_up("bystander@example.com", "B").await;
    attempt(&app, "bystander@example.com", PASSWORD)
        .await
        .data();
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_account_counter() {
    let app =
        TestApp::spawn_with(TestConfig::default().var("RATE_LIMIT_SIGNIN_ACCOUNT", "3/15m")).await;
    app.sign_up("typo@example.com", "Typo").await;
    for _ in 0..2 {
        attempt(&app, "typo@example.com", "typo typo")
            .await
            .assert_code("UNAUTHENTICATED");
    }
    attempt(&app, "typo@example.com", PASSWORD).await.data();
    for _ in 0..3 {
        attempt(&app, "typo@example.com", "typo typo")
            .await
            .assert_code("UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn aliased_sign_ins_in_one_document_each_count() {
    let app =
        TestApp::spawn_with(TestConfig::default().var("RATE_LIMIT_SIGNIN_ACCOUNT", "3/15m")).await;
    app.sign_up("alias@example.com", "Alias").await;
    let fields: String = (0..6)
        .map(|i| {
            format!(
                "a{i}: signIn(input: {{ email: \"alias@example.com\", password: \"guess{i}guess\" }}) {{ token }} "
            )
        })
        .collect();
    let res = app
        .client()
        .gql(&format!("mutation {{ {fields} }}"), json!({}))
        .await;
    let codes: Vec<String> = res
        .errors()
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 6, "{}", res.body);
    assert_eq!(codes.iter().filter(|c| *c == "UNAUTHENTICATED").count(), 3);
    assert_eq!(codes.iter().filter(|c| *c == "RATE_LIMITED").count(), 3);
    attempt(&app, "alias@example.com", PASSWORD)
        .await
        .assert_code("RATE_LIMITED");
}

#[tokio::test]
async fn batched_sign_ins_each_count() {
    let app =
        TestApp::spawn_with(TestConfig::default().var("RATE_LIMIT_SIGNIN_ACCOUNT", "2/15m")).await;
    app.sign_up("batch@example.com", "Batch").await;
    let op = json!({ "query": SIGN_IN, "variables": { "email": "batch@example.com", "password": "nope nope" } });
    let res = app.client().post_json(&json!([op, op, op, op])).await;
    let codes: Vec<Value> = res
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["errors"][0]["extensions"]["code"].clone())
        .collect();
    assert_eq!(
        codes.iter().filter(|c| *c == "RATE_LIMITED").count(),
        2,
        "{codes:?}"
    );
}

#[tokio::test]
async fn one_address_cannot_spray_many_accounts() {
    let app = TestApp::spawn_with(TestConfig::default().var("RATE_LIMIT_SIGNIN_IP", "4/15m")).await;
    for i in 0..4 {
        attempt(&app, &format!("victim{i}@example.com"), "spray spray")
            .await
            .assert_code("UNAUTHENTICATED");
    }
    attempt(&app, "victim9@example.com", "spray spray")
        .await
        .assert_code("RATE_LIMITED");
}

#[tokio::test]
async fn sign_ups_are_limited_per_address() {
    let app = TestApp::spawn_with(TestConfig::default().var("RATE_LIMIT_SIGNUP_IP", "2/1h")).await;
    app.sign_up("one@example.com", "One").await;
    app.sign_up("two@example.com", "Two").await;
    let res = app
        .client()
        .gql(
            "mutation { signUp(input: { email: \"three@example.com\", password: \"long enough\", name: \"Three\" }) { token } }",
            json!({}),
        )
        .await;
    res.assert_code("RATE_LIMITED");
}

/// With `REDIS_URL` the counters live in Redis and hold across replicas:
/// two servers on separate databases share one lock-out.
#[tokio::test]
async fn counters_in_redis_are_shared_by_replicas() {
    let redis_url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("gw-test-{}:", uuid::Uuid::now_v7().simple());
    let settings = TestConfig::default()
        .var("REDIS_URL", redis_url.clone())
        .var("REDIS_KEY_PREFIX", prefix.clone())
        .var("RATE_LIMIT_SIGNIN_ACCOUNT", "3/15m");
    let first = TestApp::spawn_with(settings.clone()).await;
    let second = TestApp::spawn_with(settings).await;
    for app in [&first, &second, &first] {
        attempt(app, "shared@example.com", "guess guess")
            .await
            .assert_code("UNAUTHENTICATED");
    }
    attempt(&second, "shared@example.com", "guess guess")
        .await
        .assert_code("RATE_LIMITED");

    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    let _: () = redis::cmd("DEL")
        .arg(keys)
        .query_async(&mut conn)
        .await
        .unwrap();
}
