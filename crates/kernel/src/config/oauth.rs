//! Sign-in providers from `OAUTH_<NAME>_*`.

use super::{ConfigError, OAuthKind, OAuthProviderConfig, Secret, check_http_url, env::Env};

/// Providers named by `OAUTH_<NAME>_CLIENT_ID`; `github` and `google` come
/// with their endpoints, any other name must give all three URLs.
pub(super) fn oauth_providers(env: &Env) -> Result<Vec<OAuthProviderConfig>, ConfigError> {
    let mut names: Vec<String> = env
        .0
        .keys()
        .filter_map(|k| k.strip_prefix("OAUTH_")?.strip_suffix("_CLIENT_ID"))
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    names.sort();
    let mut providers = Vec::new();
    for upper in names {
        let var = |suffix: &str| format!("OAUTH_{upper}_{suffix}");
        let name = upper.to_ascii_lowercase();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(env.bad(
                &var("CLIENT_ID"),
                "provider names are letters, digits and _".into(),
            ));
        }
        let Some(client_id) = env.get(&var("CLIENT_ID")) else {
            continue;
        };
        let client_secret = env
            .get(&var("CLIENT_SECRET"))
            .ok_or_else(|| env.bad(&var("CLIENT_SECRET"), "required with the client id".into()))?;
        let (kind, auth, token, userinfo, emails, scopes) = match name.as_str() {
            "github" => (
                OAuthKind::Github,
                Some("https://github.com/login/oauth/authorize"),
                Some("https://github.com/login/oauth/access_token"),
                Some("https://api.github.com/user"),
                Some("https://api.github.com/user/emails"),
                "read:user user:email",
            ),
            "google" => (
                OAuthKind::OpenId,
                Some("https://accounts.google.com/o/oauth2/v2/auth"),
                Some("https://oauth2.googleapis.com/token"),
                Some("https://openidconnect.googleapis.com/v1/userinfo"),
                None,
                "openid email profile",
            ),
            _ => (
                OAuthKind::OpenId,
                None,
                None,
                None,
                None,
                "openid email profile",
            ),
        };
        let url = |suffix: &str, preset: Option<&str>| -> Result<String, ConfigError> {
            let v = var(suffix);
            let raw = env
                .get(&v)
                .or(preset.map(str::to_owned))
                .ok_or_else(|| env.bad(&v, format!("required for the provider {name}")))?;
            check_http_url(&raw).map_err(|p| env.bad(&v, p))
        };
        let emails_url = match (kind, env.get(&var("EMAILS_URL"))) {
            (OAuthKind::Github, override_url) => {
                Some(url("EMAILS_URL", override_url.as_deref().or(emails))?)
            }
            (_, Some(_)) => Some(url("EMAILS_URL", None)?),
            _ => None,
        };
        providers.push(OAuthProviderConfig {
            kind,
            client_id,
            client_secret: Secret::from(client_secret),
            auth_url: url("AUTH_URL", auth)?,
            token_url: url("TOKEN_URL", token)?,
            userinfo_url: url("USERINFO_URL", userinfo)?,
            emails_url,
            scopes: env
                .get(&var("SCOPES"))
                .unwrap_or_else(|| scopes.to_owned())
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            name,
        });
    }
    Ok(providers)
}
