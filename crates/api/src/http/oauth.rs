//! OAuth2 sign-in (authorization code + PKCE + state).
//!
//! `GET /auth/{provider}/start` sends the browser to the provider with the
//! state and PKCE verifier kept in a short-lived signed cookie, so whichever
//! replica receives `GET /auth/{provider}/callback` can finish the flow.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl, basic::BasicClient,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::config::ExposeSecret;
use crate::{
    AppState,
    auth::{
        oauth_service::{self, Profile},
        session,
    },
    config::{Config, OAuthKind, OAuthProviderConfig},
    crypto,
    http::request_meta,
};

const STATE_COOKIE: &str = "gw_oauth";
const STATE_TTL: Duration = Duration::from_secs(600);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/{provider}/start", get(start))
        .route("/auth/{provider}/callback", get(callback))
}

/// The flow's secrets, carried by the signed cookie between start and callback.
#[derive(Serialize, Deserialize)]
struct FlowState {
    provider: String,
    state: String,
    verifier: String,
    redirect_to: String,
    expires: u64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn provider<'a>(config: &'a Config, name: &str) -> Option<&'a OAuthProviderConfig> {
    config.oauth_providers.iter().find(|p| p.name == name)
}

fn callback_url(config: &Config, provider: &str) -> String {
    format!("{}/auth/{provider}/callback", config.public_url)
}

/// `redirect_to` when its origin is the frontend's or a configured one;
/// otherwise the frontend's URL, so the flow cannot be an open redirect.
pub fn safe_redirect(config: &Config, redirect_to: Option<&str>) -> String {
    redirect_to
        .and_then(|raw| url::Url::parse(raw).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .filter(|u| u.username().is_empty() && u.password().is_none())
        .filter(|u| config.is_frontend_origin(&u.origin().ascii_serialization()))
        .map(String::from)
        .unwrap_or_else(|| config.app_url.clone())
}

fn with_error(target: &str, code: &str) -> String {
    match url::Url::parse(target) {
        Ok(mut url) => {
            url.query_pairs_mut().append_pair("error", code);
            url.into()
        }
        Err(_) => target.to_owned(),
    }
}

fn state_cookie(config: &Config, value: &str, max_age: u64) -> String {
    super::cookies::set(config, STATE_COOKIE, value, "/auth", max_age)
}

fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

#[derive(Deserialize)]
struct StartParams {
    redirect_to: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<StartParams>,
) -> Response {
    let config = &state.config;
    let Some(provider) = provider(config, &name) else {
        return (StatusCode::NOT_FOUND, "Unknown sign-in provider.").into_response();
    };
    let redirect_to = safe_redirect(config, params.redirect_to.as_deref());
    let client = match client(provider, config) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(provider = %name, error = %e, "OAuth provider misconfigured");
            return redirect(&with_error(&redirect_to, "provider_unavailable"), &[]);
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in &provider.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf) = request.url();
    let flow = FlowState {
        provider: name,
        state: csrf.secret().clone(),
        verifier: verifier.secret().clone(),
        redirect_to,
        expires: unix_now() + STATE_TTL.as_secs(),
    };
    let payload = serde_json::to_vec(&flow).expect("flow state serializes");
    let cookie = crypto::sign(config.secret_key.expose_secret().as_bytes(), &payload);
    redirect(
        url.as_str(),
        &[state_cookie(config, &cookie, STATE_TTL.as_secs())],
    )
}

type ConfiguredClient = BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn client(provider: &OAuthProviderConfig, config: &Config) -> Result<ConfiguredClient, String> {
    Ok(BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            provider.client_secret.expose_secret().to_owned(),
        ))
        .set_auth_uri(AuthUrl::new(provider.auth_url.clone()).map_err(|e| e.to_string())?)
        .set_token_uri(TokenUrl::new(provider.token_url.clone()).map_err(|e| e.to_string())?)
        .set_redirect_uri(
            RedirectUrl::new(callback_url(config, &provider.name)).map_err(|e| e.to_string())?,
        ))
}

#[derive(Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn read_flow(config: &Config, headers: &HeaderMap, provider: &str) -> Option<FlowState> {
    let raw = super::cookies::read(headers, STATE_COOKIE)?;
    let payload = crypto::verify(config.secret_key.expose_secret().as_bytes(), &raw)?;
    let flow: FlowState = serde_json::from_slice(&payload).ok()?;
    (flow.provider == provider && flow.expires > unix_now()).then_some(flow)
}

async fn callback(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<CallbackParams>,
    request: axum::extract::Request,
) -> Response {
    let config = &state.config;
    let meta = request_meta(config, &request);
    let clear = state_cookie(config, "", 0);
    let Some(flow) = read_flow(config, request.headers(), &name) else {
        return redirect(&with_error(&config.app_url, "invalid_state"), &[clear]);
    };
    let fail = |code: &str| {
        redirect(
            &with_error(&flow.redirect_to, code),
            std::slice::from_ref(&clear),
        )
    };
    if params.error.is_some() {
        return fail("access_denied");
    }
    let (Some(code), Some(returned_state)) = (params.code, params.state) else {
        return fail("invalid_request");
    };
    // In constant time: the state is what stands between the callback and
    // a request forged for someone else's flow.
    if !bool::from(returned_state.as_bytes().ct_eq(flow.state.as_bytes())) {
        return fail("invalid_state");
    }
    let Some(provider) = provider(config, &name) else {
        return fail("provider_unavailable");
    };
    let Ok(client) = client(provider, config) else {
        return fail("provider_unavailable");
    };
    let token = match client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
        .request_async(&state.http)
        .await
    {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(provider = %name, error = %e, "OAuth code exchange failed");
            return fail("token_exchange_failed");
        }
    };
    let profile = match fetch_profile(&state.http, provider, token.access_token().secret()).await {
        Ok(profile) => profile,
        Err(e) => {
            tracing::warn!(provider = %name, error = %e, "OAuth profile request failed");
            return fail("profile_unavailable");
        }
    };
    // The browser's session before this sign-in, which it replaces.
    let presented = match super::cookies::session_token(config, request.headers()) {
        Some(token) => match session::authenticate(&state.db, config, &token).await {
            Ok(viewer) => viewer.map(|v| v.session_id),
            Err(e) => {
                let id = uuid::Uuid::now_v7();
                tracing::error!(error_id = %id, error = ?e, "session check failed");
                return fail("internal");
            }
        },
        None => None,
    };
    match oauth_service::sign_in_with(&state, &name, profile, &meta, presented).await {
        Ok(signed_in) => redirect(
            &flow.redirect_to,
            &[
                clear.clone(),
                super::cookies::session_issued(config, &signed_in.token),
            ],
        ),
        Err(oauth_service::OAuthFailure::Code(code)) => fail(code),
        Err(oauth_service::OAuthFailure::Internal(e)) => {
            let id = uuid::Uuid::now_v7();
            tracing::error!(error_id = %id, error = ?e, "OAuth sign-in failed");
            fail("internal")
        }
    }
}

#[derive(Deserialize)]
struct OpenIdUserInfo {
    sub: String,
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    name: Option<String>,
    picture: Option<String>,
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    access_token: &str,
) -> Result<T, String> {
    http.get(url)
        .bearer_auth(access_token)
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, "groundwork")
        .send()
        .await
        .map_err(|e| e.to_string())?
        .error_for_status()
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

async fn fetch_profile(
    http: &reqwest::Client,
    provider: &OAuthProviderConfig,
    access_token: &str,
) -> Result<Profile, String> {
    match provider.kind {
        OAuthKind::OpenId => {
            let info: OpenIdUserInfo = get_json(http, &provider.userinfo_url, access_token).await?;
            let verified = match info.email_verified {
                Some(serde_json::Value::Bool(b)) => b,
                Some(serde_json::Value::String(s)) => s == "true",
                _ => false,
            };
            Ok(Profile {
                subject: info.sub,
                email: info.email,
                email_verified: verified,
                name: info.name,
                avatar_url: info.picture,
            })
        }
        OAuthKind::Github => {
            let user: GithubUser = get_json(http, &provider.userinfo_url, access_token).await?;
            // The profile's email may be hidden; the emails endpoint lists
            // every address with its verification.
            let emails: Vec<GithubEmail> = match &provider.emails_url {
                Some(url) => get_json(http, url, access_token).await?,
                None => Vec::new(),
            };
            let chosen = emails
                .iter()
                .filter(|e| e.verified)
                .max_by_key(|e| e.primary)
                .map(|e| e.email.clone());
            Ok(Profile {
                subject: user.id.to_string(),
                email_verified: chosen.is_some(),
                email: chosen,
                name: user.name.or(Some(user.login)),
                avatar_url: user.avatar_url,
            })
        }
    }
}
