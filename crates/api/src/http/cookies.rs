//! Cookies: the session cookie and the OAuth flow's state cookie, written
//! and read with the `cookie` crate. `Secure` and the `__Host-` prefix
//! outside development, `HttpOnly` and `SameSite=Lax` always.

use cookie::{Cookie, SameSite, time::Duration};
use http::{HeaderMap, header};

use crate::config::Config;

/// The session cookie's name: `__Host-` in production, which browsers only
/// accept from a secure origin, for the whole host, with `Path=/`.
pub fn session_name(config: &Config) -> &'static str {
    if config.is_production() {
        "__Host-gw_session"
    } else {
        "gw_session"
    }
}

/// A `Set-Cookie` value: `value` under `name` for `path`, for `max_age`
/// seconds (0 removes it).
pub fn set(config: &Config, name: &str, value: &str, path: &str, max_age: u64) -> String {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.is_production())
        .max_age(Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .build()
        .to_string()
}

/// The `Set-Cookie` value carrying a new session token.
pub fn session_issued(config: &Config, token: &str) -> String {
    let max_age = config.session_absolute_timeout.as_secs();
    set(config, session_name(config), token, "/", max_age)
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn session_cleared(config: &Config) -> String {
    set(config, session_name(config), "", "/", 0)
}

/// The value of the cookie `name` the request sent, if any.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// A session token from `Authorization: Bearer` or the session cookie.
pub fn session_token(config: &Config, headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
            .filter(|t| !t.is_empty());
    }
    read(headers, session_name(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for c in cookies {
            map.append(header::COOKIE, c.parse().unwrap());
        }
        map
    }

    #[test]
    fn cookies_are_read_by_name_from_every_header() {
        let h = headers(&["a=1; gw_session=tok", "b=2"]);
        assert_eq!(read(&h, "gw_session").as_deref(), Some("tok"));
        assert_eq!(read(&h, "b").as_deref(), Some("2"));
        assert_eq!(read(&h, "c"), None);
        assert_eq!(read(&headers(&["gw_session="]), "gw_session"), None);
        assert_eq!(read(&headers(&["garbage"]), "gw_session"), None);
    }

    #[test]
    fn set_cookie_values_have_the_attributes() {
        let config = Config::from_vars(&Default::default()).unwrap();
        let set = session_issued(&config, "tok");
        for part in [
            "gw_session=tok",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=",
        ] {
            assert!(set.contains(part), "{set}");
        }
        assert!(!set.contains("Secure"));
        assert!(session_cleared(&config).contains("Max-Age=0"));
    }
}
