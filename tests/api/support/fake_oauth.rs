//! A fake OAuth2 provider on 127.0.0.1: an authorize endpoint that approves
//! at once, a token endpoint that checks the code, client and PKCE verifier,
//! an OpenID userinfo endpoint, and GitHub's `/user` and `/user/emails`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "fake-client";
pub const CLIENT_SECRET: &str = "fake-secret";

/// Who the provider says is signing in.
#[derive(Clone, Debug)]
pub struct FakeUser {
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

#[derive(Default)]
struct Inner {
    user: Option<FakeUser>,
    /// code -> (PKCE challenge, redirect_uri)
    codes: HashMap<String, (String, String)>,
    tokens: HashMap<String, FakeUser>,
    token_requests: usize,
}

#[derive(Clone)]
pub struct FakeOAuth {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeOAuth {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .route("/user", get(github_user))
            .route("/user/emails", get(github_emails))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self {
            base_url: format!("http://{addr}"),
            inner,
        }
    }

    /// The next person to approve the sign-in.
    pub fn sign_in_as(&self, user: FakeUser) {
        self.inner.lock().unwrap().user = Some(user);
    }

    pub fn token_requests(&self) -> usize {
        self.inner.lock().unwrap().token_requests
    }

    /// The server settings of a provider named `name` backed by this fake.
    pub fn env(&self, name: &str) -> Vec<(String, String)> {
        let upper = name.to_ascii_uppercase();
        let mut vars = vec![
            (format!("OAUTH_{upper}_CLIENT_ID"), CLIENT_ID.to_owned()),
            (
                format!("OAUTH_{upper}_CLIENT_SECRET"),
                CLIENT_SECRET.to_owned(),
            ),
            (
                format!("OAUTH_{upper}_AUTH_URL"),
                format!("{}/authorize", self.base_url),
            ),
            (
                format!("OAUTH_{upper}_TOKEN_URL"),
                format!("{}/token", self.base_url),
            ),
        ];
        if name == "github" {
            vars.push((
                format!("OAUTH_{upper}_USERINFO_URL"),
                format!("{}/user", self.base_url),
            ));
            vars.push((
                format!("OAUTH_{upper}_EMAILS_URL"),
                format!("{}/user/emails", self.base_url),
            ));
        } else {
            vars.push((
                format!("OAUTH_{upper}_USERINFO_URL"),
                format!("{}/userinfo", self.base_url),
            ));
        }
        vars
    }
}

#[derive(Deserialize)]
struct AuthorizeParams {
    client_id: String,
    redirect_uri: String,
    state: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn authorize(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    if params.client_id != CLIENT_ID
        || params.code_challenge_method.as_deref() != Some("S256")
        || params.code_challenge.is_none()
    {
        return (StatusCode::BAD_REQUEST, "bad authorize request").into_response();
    }
    let code = format!("code-{}", uuid::Uuid::now_v7().simple());
    inner.lock().unwrap().codes.insert(
        code.clone(),
        (params.code_challenge.unwrap(), params.redirect_uri.clone()),
    );
    let mut target = url::Url::parse(&params.redirect_uri).unwrap();
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &params.state);
    Redirect::to(target.as_str()).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

fn client_authenticated(headers: &HeaderMap) -> bool {
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Basic {expected}"))
}

async fn token(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.token_requests += 1;
    let invalid = |what: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_grant", "error_description": what })),
        )
            .into_response()
    };
    if !client_authenticated(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    if form.grant_type != "authorization_code" {
        return invalid("grant type");
    }
    // Codes are single-use, as at a real provider.
    let Some((challenge, redirect_uri)) = inner.codes.remove(&form.code) else {
        return invalid("unknown code");
    };
    if form.redirect_uri.as_deref() != Some(redirect_uri.as_str()) {
        return invalid("redirect_uri mismatch");
    }
    let verifier = form.code_verifier.unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return invalid("PKCE verification failed");
    }
    let Some(user) = inner.user.clone() else {
        return invalid("nobody signed in");
    };
    let access_token = format!("at-{}", uuid::Uuid::now_v7().simple());
    inner.tokens.insert(access_token.clone(), user);
    Json(json!({ "access_token": access_token, "token_type": "bearer", "expires_in": 3600 }))
        .into_response()
}

fn bearer_user(inner: &Arc<Mutex<Inner>>, headers: &HeaderMap) -> Option<FakeUser> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    inner.lock().unwrap().tokens.get(token).cloned()
}

async fn userinfo(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    match bearer_user(&inner, &headers) {
        Some(u) => Json(json!({
            "sub": u.subject,
            "email": u.email,
            "email_verified": u.email_verified,
            "name": u.name,
        }))
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn github_user(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    match bearer_user(&inner, &headers) {
        // GitHub's profile email is null when the user keeps it private.
        Some(u) => Json(json!({
            "id": u.subject.parse::<u64>().unwrap_or(1),
            "login": u.name.to_lowercase().replace(' ', "-"),
            "name": u.name,
            "email": null,
            "avatar_url": "https://avatars.example.com/u/1",
        }))
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn github_emails(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    match bearer_user(&inner, &headers) {
        Some(u) => Json(json!([
            { "email": "old-unverified@example.com", "primary": false, "verified": false },
            { "email": u.email, "primary": true, "verified": u.email_verified },
        ]))
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}
