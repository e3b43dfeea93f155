//! OAuth2 sign-in against a fake provider, driven through the real client
//! as a browser would: start, provider, callback, back to the frontend.

use reqwest::{StatusCode, header::LOCATION};
use serde_json::json;

use crate::support::{
    Client, PASSWORD, TestApp, TestConfig,
    fake_oauth::{FakeOAuth, FakeUser},
    ops,
};

pub async fn app_with(provider: &FakeOAuth, name: &str) -> TestApp {
    let mut settings = TestConfig::default().var("CORS_ORIGINS", "http://admin.test");
    for (k, v) in provider.env(name) {
        settings = settings.var(&k, v);
    }
    TestApp::spawn_with(settings).await
}

pub fn user(subject: &str, email: &str, verified: bool) -> FakeUser {
    FakeUser {
        subject: subject.into(),
        email: email.into(),
        email_verified: verified,
        name: "Octo Cat".into(),
    }
}

fn location(res: &reqwest::Response) -> String {
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// One browser trip through the flow; returns where it finally lands.
pub struct Trip {
    pub browser: Client,
    /// The provider's authorize URL the start step sent the browser to.
    authorize: String,
    /// The callback URL the provider sent the browser back to.
    pub callback: String,
}

pub async fn begin(app: &TestApp, provider: &str, redirect_to: &str) -> Trip {
    begin_in(app.client(), provider, redirect_to).await
}

/// A trip in a browser that may already hold cookies.
pub async fn begin_in(browser: Client, provider: &str, redirect_to: &str) -> Trip {
    let start = browser
        .get(&format!(
            "/auth/{provider}/start?redirect_to={}",
            urlencode(redirect_to)
        ))
        .await;
    assert_eq!(start.status(), StatusCode::FOUND);
    let authorize = location(&start);
    let approved = browser.http().get(&authorize).send().await.unwrap();
    assert!(
        approved.status().is_redirection(),
        "{}",
        approved.text().await.unwrap()
    );
    let callback = location(&approved);
    Trip {
        browser,
        authorize,
        callback,
    }
}

pub async fn finish(trip: &Trip, callback: &str) -> String {
    let res = trip.browser.http().get(callback).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    location(&res)
}

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

#[tokio::test]
async fn a_new_user_signs_up_through_a_provider() {
    let fake = FakeOAuth::start().await;
    fake.sign_in_as(user("sub-1", "Octo@Example.com", true));
    let app = app_with(&fake, "acme").await;

    let trip = begin(&app, "acme", "http://app.test/welcome").await;
    assert!(trip.authorize.starts_with(&fake.base_url));
    assert!(trip.authorize.contains("code_challenge_method=S256"));
    assert!(trip.callback.starts_with(&app.url("/auth/acme/callback")));
    let landed = finish(&trip, &trip.callback).await;
    assert_eq!(landed, "http://app.test/welcome");

    let me = trip.browser.gql(ops::VIEWER, json!({})).await;
    let viewer = &me.data()["viewer"];
    assert_eq!(viewer["email"], "octo@example.com");
    assert_eq!(viewer["emailVerified"], true);
    assert_eq!(viewer["name"], "Octo Cat");
    assert_eq!(viewer["linkedAccounts"][0]["provider"], "acme");

    // The same provider account signs in to the same user next time.
    let again = begin(&app, "acme", "http://app.test/").await;
    finish(&again, &again.callback).await;
    let me_again = again.browser.gql(ops::VIEWER, json!({})).await;
    assert_eq!(me_again.data()["viewer"]["id"], viewer["id"]);
}

#[tokio::test]
async fn a_tampered_state_is_refused() {
    let fake = FakeOAuth::start().await;
    fake.sign_in_as(user("sub-2", "state@example.com", true));
    let app = app_with(&fake, "acme").await;

    let trip = begin(&app, "acme", "http://app.test/").await;
    let mut tampered = url::Url::parse(&trip.callback).unwrap();
    let pairs: Vec<(String, String)> = tampered
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("{v}x")
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    let landed = finish(&trip, tampered.as_str()).await;
    assert_eq!(landed, "http://app.test/?error=invalid_state");
    assert_eq!(
        fake.token_requests(),
        0,
        "the code was exchanged despite a bad state"
    );
    assert!(trip.browser.gql(ops::VIEWER, json!({})).await.data()["viewer"].is_null());

    // A callback with no flow cookie at all (another browser) fails the same way.
    let stranger = app.client();
    let res = stranger.http().get(&trip.callback).send().await.unwrap();
    assert_eq!(location(&res), "http://app.test/?error=invalid_state");
}

#[tokio::test]
async fn a_code_from_another_flow_fails_the_pkce_check() {
    let fake = FakeOAuth::start().await;
    fake.sign_in_as(user("sub-3", "pkce@example.com", true));
    let app = app_with(&fake, "acme").await;

    // The victim's browser starts a flow; the attacker injects a code that
    // was issued for the attacker's own flow (and its own PKCE challenge).
    let victim = begin(&app, "acme", "http://app.test/").await;
    let attacker = begin(&app, "acme", "http://app.test/").await;
    let victim_url = url::Url::parse(&victim.callback).unwrap();
    let attacker_url = url::Url::parse(&attacker.callback).unwrap();
    let param = |u: &url::Url, name: &str| {
        u.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let mut injected = victim_url.clone();
    injected
        .query_pairs_mut()
        .clear()
        .append_pair("code", &param(&attacker_url, "code"))
        .append_pair("state", &param(&victim_url, "state"));
    let landed = finish(&victim, injected.as_str()).await;
    assert_eq!(landed, "http://app.test/?error=token_exchange_failed");
    assert_eq!(fake.token_requests(), 1);
    assert!(victim.browser.gql(ops::VIEWER, json!({})).await.data()["viewer"].is_null());
}

#[tokio::test]
async fn redirects_go_only_to_allowed_origins() {
    let fake = FakeOAuth::start().await;
    fake.sign_in_as(user("sub-4", "redirect@example.com", true));
    let app = app_with(&fake, "acme").await;

    for (asked, landed) in [
        ("https://evil.example/steal", "http://app.test"),
        ("//evil.example/", "http://app.test"),
        ("http://app.test.evil.example/", "http://app.test"),
        ("http://admin.test/dashboard", "http://admin.test/dashboard"),
    ] {
        let trip = begin(&app, "acme", asked).await;
        assert_eq!(finish(&trip, &trip.callback).await, landed, "{asked}");
    }
}

#[tokio::test]
async fn a_verified_provider_email_links_to_the_existing_account() {
    let fake = FakeOAuth::start().await;
    let app = app_with(&fake, "acme").await;
    let existing = app.sign_up_verified("link@example.com", "Linda").await;

    fake.sign_in_as(user("sub-5", "LINK@example.com", true));
    let trip = begin(&app, "acme", "http://app.test/").await;
    finish(&trip, &trip.callback).await;
    let me = trip.browser.gql(ops::VIEWER, json!({})).await;
    assert_eq!(me.data()["viewer"]["id"], existing.user_id.as_str());
    assert_eq!(me.data()["viewer"]["linkedAccounts"][0]["provider"], "acme");
}

#[tokio::test]
async fn an_unverified_provider_email_neither_links_nor_creates() {
    let fake = FakeOAuth::start().await;
    let app = app_with(&fake, "acme").await;
    let existing = app.sign_up("victim@example.com", "Victim").await;

    fake.sign_in_as(user("sub-6", "victim@example.com", false));
    let trip = begin(&app, "acme", "http://app.test/").await;
    let landed = finish(&trip, &trip.callback).await;
    assert_eq!(landed, "http://app.test/?error=email_not_verified");
    assert!(trip.browser.gql(ops::VIEWER, json!({})).await.data()["viewer"].is_null());
    let mine = existing.client.gql(ops::VIEWER, json!({})).await;
    assert!(
        mine.data()["viewer"]["linkedAccounts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn github_private_emails_come_from_the_emails_endpoint() {
    let fake = FakeOAuth::start().await;
    fake.sign_in_as(user("4242", "private@users.example.com", true));
    let app = app_with(&fake, "github").await;
    let trip = begin(&app, "github", "http://app.test/").await;
    finish(&trip, &trip.callback).await;
    let me = trip.browser.gql(ops::VIEWER, json!({})).await;
    assert_eq!(me.data()["viewer"]["email"], "private@users.example.com");
    assert_eq!(
        me.data()["viewer"]["linkedAccounts"][0]["provider"],
        "github"
    );
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_unlinked() {
    let fake = FakeOAuth::start().await;
    let app = app_with(&fake, "acme").await;
    const UNLINK: &str =
        "mutation { unlinkAccount(provider: \"acme\") { linkedAccounts { provider } } }";

    fake.sign_in_as(user("sub-7", "only@example.com", true));
    let trip = begin(&app, "acme", "http://app.test/").await;
    finish(&trip, &trip.callback).await;
    trip.browser
        .gql(UNLINK, json!({}))
        .await
        .assert_code("CONFLICT");

    let with_password = app.sign_up_verified("both@example.com", "Both").await;
    fake.sign_in_as(user("sub-8", "both@example.com", true));
    let trip = begin(&app, "acme", "http://app.test/").await;
    finish(&trip, &trip.callback).await;
    let res = with_password.client.gql(UNLINK, json!({})).await;
    assert!(
        res.data()["unlinkAccount"]["linkedAccounts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Unlinked, the provider account is a stranger again and the password still works.
    with_password
        .client
        .gql(
            "mutation { signIn(input: { email: \"both@example.com\", password: $p }) { token } }"
                .replace("$p", &format!("{PASSWORD:?}"))
                .as_str(),
            json!({}),
        )
        .await
        .data();
}

#[tokio::test]
async fn an_unknown_provider_is_404() {
    let app = TestApp::spawn().await;
    let res = app.client().get("/auth/nope/start").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
