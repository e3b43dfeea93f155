//! GraphiQL is served from the binary and loads nothing from another host.

use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha384};

use crate::support::{TestApp, TestConfig};

/// Hosts that serve npm packages to browsers; none may appear in a file
/// the page loads.
const CDNS: [&str; 6] = [
    "unpkg.com",
    "jsdelivr.net",
    "esm.sh",
    "cdnjs.cloudflare.com",
    "skypack.dev",
    "fonts.googleapis.com",
];

/// The `<script>` and `<link>` tags of a page, as their attributes.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    html.split('<')
        .skip(1)
        .filter_map(|rest| {
            let tag = rest.split('>').next()?;
            let name = tag.split_whitespace().next()?.to_ascii_lowercase();
            Some((name, attributes(tag)))
        })
        .filter(|(name, _)| name == "script" || name == "link")
        .collect()
}

/// `name="value"` pairs of a tag (the page quotes every value).
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq]
            .rsplit(char::is_whitespace)
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let value_start = eq + 2;
        let Some(len) = rest[value_start..].find('"') else {
            break;
        };
        found.push((name, rest[value_start..value_start + len].to_owned()));
        rest = &rest[value_start + len + 1..];
    }
    found
}

fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The targets of every `url(…)` in a stylesheet.
fn css_urls(css: &str) -> Vec<String> {
    css.split("url(")
        .skip(1)
        .map(|rest| {
            let target = rest.split(')').next().unwrap_or_default();
            target.trim().trim_matches(['"', '\'']).to_owned()
        })
        .collect()
}

/// A reference that stays on the page's origin: an absolute path, a
/// relative path, or inline data. Anything with a scheme or `//` does not.
fn is_same_origin(reference: &str) -> bool {
    if reference.starts_with("data:") {
        return true;
    }
    let has_scheme = reference
        .split_once(':')
        .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains('/'));
    !reference.starts_with("//") && !reference.contains('\\') && !has_scheme
}

#[tokio::test]
async fn graphiql_loads_only_files_of_its_own_origin() {
    let app = TestApp::spawn().await;
    let page = app.client().get("/graphiql").await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");

    // The browser itself refuses any other host, for files and connections.
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    for source in csp
        .split(';')
        .flat_map(|directive| directive.split_whitespace().skip(1))
    {
        assert!(
            source.starts_with('\'') || source == "data:",
            "{source} in the Content-Security-Policy names a host"
        );
    }

    let html = page.text().await.unwrap();
    for foreign in ["//", "http:", "https:", "ws:", "wss:"] {
        assert!(
            !html.contains(foreign),
            "the page contains {foreign}:\n{html}"
        );
    }
    let tags = tags(&html);
    let mut loaded = Vec::new();
    for (name, attributes) in &tags {
        let reference = attribute(attributes, "src").or_else(|| attribute(attributes, "href"));
        let Some(reference) = reference else {
            panic!("<{name}> without src or href: {attributes:?}");
        };
        assert!(is_same_origin(reference), "{reference} leaves the origin");
        if reference.starts_with("data:") {
            continue;
        }
        let integrity = attribute(attributes, "integrity")
            .unwrap_or_else(|| panic!("{reference} has no integrity attribute"));
        loaded.push((reference.to_owned(), integrity.to_owned()));
    }
    let names: Vec<&str> = loaded
        .iter()
        .filter_map(|(path, _)| path.rsplit('/').next())
        .collect();
    for vendored in [
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql.min.css",
    ] {
        assert!(names.contains(&vendored), "{vendored} not in {names:?}");
    }

    for (path, integrity) in &loaded {
        let response = app.client().get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        let content_type = headers["content-type"].to_str().unwrap().to_owned();
        let expected = if path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(content_type, expected, "{path}");
        let cache = headers["cache-control"].to_str().unwrap();
        assert!(
            cache.contains("immutable") && cache.contains("max-age=31536000"),
            "{path}: {cache}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");

        let body = response.bytes().await.unwrap();
        let digest = format!("sha384-{}", STANDARD.encode(Sha384::digest(&body)));
        assert_eq!(&digest, integrity, "{path}");
        let text = String::from_utf8_lossy(&body);
        for cdn in CDNS {
            assert!(!text.contains(cdn), "{path} names {cdn}");
        }
        if path.ends_with(".css") {
            for url in css_urls(&text) {
                assert!(is_same_origin(&url), "{path} loads {url}");
            }
        }
    }
}

#[tokio::test]
async fn graphiql_files_outside_the_current_build_are_not_found() {
    let app = TestApp::spawn().await;
    let html = app.client().get("/graphiql").await.text().await.unwrap();
    let script = tags(&html)
        .into_iter()
        .find_map(|(_, attributes)| attribute(&attributes, "src").map(str::to_owned))
        .expect("the page has a script");
    let (_, name) = script.rsplit_once('/').unwrap();
    for path in [
        format!("/graphiql/assets/0000000000000000/{name}"),
        script.replace(name, "missing.js"),
        "/graphiql/assets/graphiql.min.js".to_owned(),
    ] {
        assert_eq!(app.client().get(&path).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn graphiql_and_its_files_are_off_in_production_by_default() {
    let dev = TestApp::spawn().await;
    let html = dev.client().get("/graphiql").await.text().await.unwrap();
    let asset = tags(&html)
        .into_iter()
        .find_map(|(_, attributes)| attribute(&attributes, "src").map(str::to_owned))
        .expect("the page has a script");
    assert_eq!(dev.client().get(&asset).await.status(), 200);

    let production = TestApp::spawn_with(TestConfig::default().var("APP_ENV", "production")).await;
    assert_eq!(production.client().get("/graphiql").await.status(), 404);
    assert_eq!(production.client().get(&asset).await.status(), 404);

    let opted_in = TestApp::spawn_with(
        TestConfig::default()
            .var("APP_ENV", "production")
            .var("GRAPHIQL", "on"),
    )
    .await;
    assert_eq!(opted_in.client().get(&asset).await.status(), 200);
}

#[test]
fn the_same_origin_check_catches_other_hosts() {
    for foreign in [
        "https://unpkg.com/react@18",
        "http://example.com/a.js",
        "//cdn.example/a.css",
        "\\\\cdn.example/a.css",
        "ws://example.com/graphql",
    ] {
        assert!(!is_same_origin(foreign), "{foreign}");
    }
    for local in [
        "/graphiql/assets/x/a.js",
        "a.png",
        "data:,",
        "data:font/woff2;base64,AA",
    ] {
        assert!(is_same_origin(local), "{local}");
    }
}
