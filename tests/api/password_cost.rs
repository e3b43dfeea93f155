//! Password hashing is the costly thing an anonymous request can ask for.
//! Floods of aliased and batched fields (10 operations of 50 aliases, the
//! most admission lets through) must not buy more hashes than the
//! throttles allow, links are checked before anything is hashed, and the
//! hashing queue refuses instead of growing. Hashes are counted through
//! `/metrics` (`groundwork_password_hashes_total`).

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::{Client, PASSWORD, TestApp, TestConfig, prometheus::Scrape};

const HASHES: &str = "groundwork_password_hashes_total";
const REFUSED: &str = "groundwork_password_hashes_refused_total";

async fn counter(app: &TestApp, name: &str) -> u64 {
    Scrape::of(&app.base_url)
        .await
        .value(name, &[])
        .unwrap_or(0.0) as u64
}

async fn hashes(app: &TestApp) -> u64 {
    counter(app, HASHES).await
}

/// One POST of `batches` operations, each of `aliases` aliased fields that
/// `field(n)` writes (n counting across the whole request); the outcome of
/// every field: its error's code, or OK.
async fn flood(
    client: &Client,
    batches: usize,
    aliases: usize,
    field: impl Fn(usize) -> String,
) -> Vec<String> {
    let operations: Vec<Value> = (0..batches)
        .map(|b| {
            let fields: String = (0..aliases)
                .map(|a| format!("a{a}: {} ", field(b * aliases + a)))
                .collect();
            json!({ "query": format!("mutation {{ {fields} }}") })
        })
        .collect();
    let res = client.post_json(&Value::Array(operations)).await;
    let answers = res
        .body
        .as_array()
        .unwrap_or_else(|| panic!("{}", res.body));
    let mut outcomes = Vec::new();
    for answer in answers {
        let errors = answer["errors"].as_array().cloned().unwrap_or_default();
        for error in &errors {
            outcomes.push(error["extensions"]["code"].as_str().unwrap().to_owned());
        }
        outcomes.extend(std::iter::repeat_n("OK".to_owned(), aliases - errors.len()));
    }
    assert_eq!(outcomes.len(), batches * aliases);
    outcomes
}

fn count(outcomes: &[String], code: &str) -> usize {
    outcomes.iter().filter(|c| *c == code).count()
}

fn sign_in(email: &str, password: &str) -> String {
    format!("signIn(input: {{ email: {email:?}, password: {password:?} }}) {{ token }}")
}

#[tokio::test]
async fn made_up_reset_links_cost_no_hashing() {
    // Admission's alias limit raised out of the way: the links themselves
    // must be cheap.
    let app = TestApp::spawn_with(TestConfig::default().var("GRAPHQL_MAX_ALIASES", "1000")).await;
    let reset = |n: usize| {
        format!("resetPassword(token: \"bogus-{n}\", newPassword: \"long enough\") {{ token }}")
    };
    let started = std::time::Instant::now();
    let outcomes = flood(&app.client(), 1, 200, reset).await;
    assert_eq!(count(&outcomes, "BAD_USER_INPUT"), 200, "{outcomes:?}");
    let outcomes = flood(&app.client(), 10, 50, reset).await;
    assert_eq!(count(&outcomes, "BAD_USER_INPUT"), 500, "{outcomes:?}");
    assert_eq!(hashes(&app).await, 0);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

#[tokio::test]
async fn guessing_one_account_hashes_only_its_allowance() {
    let app = TestApp::spawn().await;
    app.sign_up("target@example.com", "Target").await;
    let before = hashes(&app).await;
    let outcomes = flood(&app.client(), 10, 50, |n| {
        sign_in("target@example.com", &format!("guess number {n}"))
    })
    .await;
    // RATE_LIMIT_SIGNIN_ACCOUNT's default: 5.
    assert_eq!(count(&outcomes, "UNAUTHENTICATED"), 5, "{outcomes:?}");
    assert_eq!(count(&outcomes, "RATE_LIMITED"), 495);
    assert_eq!(hashes(&app).await - before, 5);
    // The owner, too, waits out the window.
    let owner = app
        .client()
        .gql(
            "mutation($p: String!) { signIn(input: { email: \"target@example.com\", password: $p }) { token } }",
            json!({ "p": PASSWORD }),
        )
        .await;
    owner.assert_code("RATE_LIMITED");
}

#[tokio::test]
async fn guesses_from_a_session_hash_only_the_accounts_allowance() {
    let app = TestApp::spawn().await;
    let user = app.sign_up("stolen@example.com", "Stolen").await;
    let before = hashes(&app).await;
    let change = flood(&user.client, 5, 50, |n| {
        format!("changePassword(currentPassword: \"guess {n}\", newPassword: \"long enough\")")
    })
    .await;
    let delete = flood(&user.client, 5, 50, |n| {
        format!("deleteAccount(password: \"guess {n}\")")
    })
    .await;
    let wrong = count(&change, "BAD_USER_INPUT") + count(&delete, "BAD_USER_INPUT");
    assert_eq!(wrong, 5, "{change:?} {delete:?}");
    assert_eq!(
        count(&change, "RATE_LIMITED") + count(&delete, "RATE_LIMITED"),
        495
    );
    assert_eq!(hashes(&app).await - before, 5);
}

#[tokio::test]
async fn spraying_many_accounts_hashes_only_the_addresss_allowance() {
    let app =
        TestApp::spawn_with(TestConfig::default().var("RATE_LIMIT_SIGNIN_IP", "20/15m")).await;
    let outcomes = flood(&app.client(), 10, 50, |n| {
        sign_in(&format!("victim{n}@example.com"), "spray spray")
    })
    .await;
    assert_eq!(count(&outcomes, "UNAUTHENTICATED"), 20, "{outcomes:?}");
    assert_eq!(hashes(&app).await, 20);
}

/// Someone who knows their own password cannot turn it into a supply of
/// hashes: password work per account counts successes too.
#[tokio::test]
async fn a_known_password_buys_only_the_accounts_work_allowance() {
    let app =
        TestApp::spawn_with(TestConfig::default().var("RATE_LIMIT_PASSWORD_ACCOUNT", "10/15m"))
            .await;
    let user = app.sign_up("mine@example.com", "Mine").await;
    let before = hashes(&app).await;
    let outcomes = flood(&app.client(), 10, 50, |_| {
        sign_in("mine@example.com", PASSWORD)
    })
    .await;
    // The one sign-up already counted.
    assert_eq!(count(&outcomes, "RATE_LIMITED"), 491, "{outcomes:?}");
    assert_eq!(hashes(&app).await - before, 9);
    // Its password changes (a check and a hash each) draw on the same allowance.
    let change = flood(&user.client, 1, 20, |_| {
        format!("changePassword(currentPassword: {PASSWORD:?}, newPassword: {PASSWORD:?})")
    })
    .await;
    assert_eq!(count(&change, "RATE_LIMITED"), 20, "{change:?}");
    assert_eq!(hashes(&app).await - before, 9);
}

#[tokio::test]
async fn sign_up_floods_hash_only_the_addresss_allowance() {
    let app = TestApp::spawn().await;
    // Made-up invitation links are refused before hashing (and count as
    // sign-ups of the address).
    let bogus = flood(&app.client(), 1, 10, |n| {
        format!(
            "signUp(input: {{ email: \"invited{n}@example.com\", password: \"long enough\", name: \"I\", invitationToken: \"bogus\" }}) {{ token }}"
        )
    })
    .await;
    assert_eq!(count(&bogus, "BAD_USER_INPUT"), 10, "{bogus:?}");
    assert_eq!(hashes(&app).await, 0);
    let outcomes = flood(&app.client(), 10, 50, |n| {
        format!(
            "signUp(input: {{ email: \"new{n}@example.com\", password: \"long enough\", name: \"N\" }}) {{ token }}"
        )
    })
    .await;
    // RATE_LIMIT_SIGNUP_IP's default, 20, less the ten above.
    assert_eq!(count(&outcomes, "RATE_LIMITED"), 490, "{outcomes:?}");
    assert_eq!(hashes(&app).await, 10);
}

#[tokio::test]
async fn a_full_hashing_queue_refuses_at_once() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("PASSWORD_HASH_CONCURRENCY", "1")
            .var("PASSWORD_HASH_QUEUE", "1")
            .var("RATE_LIMIT_SIGNIN_IP", "1000/15m"),
    )
    .await;
    let attempts = (0..40).map(|n| {
        let client = app.client();
        async move {
            client
                .gql(
                    "mutation($e: String!) { signIn(input: { email: $e, password: \"wrong wrong\" }) { token } }",
                    json!({ "e": format!("someone{n}@example.com") }),
                )
                .await
        }
    });
    let answers = join_all(attempts).await;
    let mut refused = 0;
    for answer in &answers {
        match answer.code().as_str() {
            "UNAUTHENTICATED" => {}
            "RATE_LIMITED" => {
                refused += 1;
                let retry = &answer.first_error()["extensions"]["retryAfter"];
                assert!(retry.as_u64().is_some_and(|s| s >= 1), "{}", answer.body);
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert!(refused > 0, "nothing was refused");
    assert_eq!(counter(&app, REFUSED).await, refused);
    assert_eq!(hashes(&app).await, 40 - refused);
}
