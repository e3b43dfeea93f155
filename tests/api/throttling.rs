//! Brute-force protection: failed sign-ins are limited per account and per
//! IP, counting every attempt however it is packaged.

use serde_json::{Value, json};

use crate::support::{PASSWORD, TestApp, TestConfig, ops};

async fn attempt(app: &TestApp, email: &str, password: &str) -> crate::support::GqlResponse {
    app.client()
        .gql(
            ops::SIGN_IN,
            json!({ "email": email, "password": password }),
        )
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
    let op = json!({ "query": ops::SIGN_IN, "variables": { "email": "batch@example.com", "password": "nope nope" } });
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

/// `n` sign-ins at once, each from a client of its own; their codes ("OK"
/// for a success).
async fn at_once(app: &TestApp, attempts: Vec<(String, String)>) -> Vec<String> {
    let sent = attempts.into_iter().map(|(email, password)| {
        let client = app.client();
        async move {
            let res = client
                .gql(
                    ops::SIGN_IN,
                    json!({ "email": email, "password": password }),
                )
                .await;
            if res.errors().is_empty() {
                "OK".to_owned()
            } else {
                res.code()
            }
        }
    });
    futures_util::future::join_all(sent).await
}

fn tally(codes: &[String], code: &str) -> usize {
    codes.iter().filter(|c| *c == code).count()
}

/// An office behind one address: 200 people sign in at the same moment, each
/// with the right password. Only failures count against the address, so
/// none is refused, however low its limit.
#[tokio::test]
async fn correct_sign_ins_from_one_address_are_never_refused() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("RATE_LIMIT_SIGNIN_IP", "3/15m")
            .var("RATE_LIMIT_SIGNUP_IP", "100/1h")
            .var("PASSWORD_HASH_QUEUE", "400"),
    )
    .await;
    let mut attempts = Vec::new();
    for i in 0..40 {
        let email = format!("colleague{i}@example.com");
        app.sign_up(&email, "Colleague").await;
        attempts.extend((0..5).map(|_| (email.clone(), PASSWORD.to_owned())));
    }
    let codes = at_once(&app, attempts).await;
    assert_eq!(tally(&codes, "OK"), 200, "{codes:?}");

    // Failures from the address are still limited, and then everyone waits.
    let wrong = (0..3)
        .map(|i| (format!("colleague{i}@example.com"), "typo typo".to_owned()))
        .collect();
    assert_eq!(tally(&at_once(&app, wrong).await, "UNAUTHENTICATED"), 3);
    attempt(&app, "colleague9@example.com", PASSWORD)
        .await
        .assert_code("RATE_LIMITED");
}

/// Parallel guesses are checked no more often than the limit allows: each
/// reserves its unit before its check, so none slips in while others are
/// being counted.
async fn parallel_guesses_stay_within_the_limits(settings: TestConfig) {
    let app = TestApp::spawn_with(
        settings
            .var("RATE_LIMIT_SIGNIN_ACCOUNT", "5/15m")
            .var("RATE_LIMIT_SIGNIN_IP", "12/15m"),
    )
    .await;
    app.sign_up("target@example.com", "Target").await;
    let guesses = (0..40)
        .map(|i| ("target@example.com".to_owned(), format!("guess number {i}")))
        .collect();
    let codes = at_once(&app, guesses).await;
    assert_eq!(tally(&codes, "UNAUTHENTICATED"), 5, "{codes:?}");
    assert_eq!(tally(&codes, "RATE_LIMITED"), 35, "{codes:?}");
    attempt(&app, "target@example.com", PASSWORD)
        .await
        .assert_code("RATE_LIMITED");

    // Spraying other accounts in parallel: the address has 7 failures left.
    let spray = (0..40)
        .map(|i| (format!("victim{i}@example.com"), "spray spray".to_owned()))
        .collect();
    let codes = at_once(&app, spray).await;
    assert_eq!(tally(&codes, "UNAUTHENTICATED"), 7, "{codes:?}");
    assert_eq!(tally(&codes, "RATE_LIMITED"), 33, "{codes:?}");
}

#[tokio::test]
async fn parallel_guesses_stay_within_the_limits_in_the_database() {
    parallel_guesses_stay_within_the_limits(TestConfig::default()).await;
}

#[tokio::test]
async fn parallel_guesses_stay_within_the_limits_in_redis() {
    let redis_url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("gw-test-{}:", uuid::Uuid::now_v7().simple());
    parallel_guesses_stay_within_the_limits(
        TestConfig::default()
            .var("REDIS_URL", redis_url.clone())
            .var("REDIS_KEY_PREFIX", prefix.clone()),
    )
    .await;
    forget_redis_keys(&redis_url, &prefix).await;
}

#[tokio::test]
async fn correct_sign_ins_through_redis_are_never_refused() {
    let redis_url =
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("gw-test-{}:", uuid::Uuid::now_v7().simple());
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("REDIS_URL", redis_url.clone())
            .var("REDIS_KEY_PREFIX", prefix.clone())
            .var("RATE_LIMIT_SIGNIN_IP", "2/15m"),
    )
    .await;
    let mut attempts = Vec::new();
    for i in 0..10 {
        let email = format!("colleague{i}@example.com");
        app.sign_up(&email, "Colleague").await;
        attempts.extend((0..5).map(|_| (email.clone(), PASSWORD.to_owned())));
    }
    let codes = at_once(&app, attempts).await;
    assert_eq!(tally(&codes, "OK"), 50, "{codes:?}");
    forget_redis_keys(&redis_url, &prefix).await;
}

pub async fn forget_redis_keys(redis_url: &str, prefix: &str) {
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}
