//! GraphiQL at `/graphiql`, from files compiled into the binary.
//!
//! The page loads nothing from another host, so it works offline and behind
//! firewalls, and its versions are the ones in `assets/graphiql/README.md`.
//! Each file is served under a path holding a hash of its content, so it
//! may be cached forever; the page names them with `integrity` attributes,
//! and its Content-Security-Policy lets the browser load and connect to
//! this origin only.

use std::{fmt::Write, sync::LazyLock};

use axum::{
    Router,
    extract::Path,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256, Sha384};

use crate::AppState;

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A file of `assets/graphiql/`, in the order the page loads it.
struct File {
    /// Its path under `assets/graphiql/`.
    source: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! file {
    ($path:literal, $content_type:expr) => {
        File {
            source: $path,
            content_type: $content_type,
            body: include_bytes!(concat!("../../assets/graphiql/", $path)),
        }
    };
}

const FILES: [File; 6] = [
    file!("vendor/graphiql.min.css", CSS),
    file!("page.css", CSS),
    file!("vendor/react.production.min.js", JAVASCRIPT),
    file!("vendor/react-dom.production.min.js", JAVASCRIPT),
    file!("vendor/graphiql.min.js", JAVASCRIPT),
    file!("page.js", JAVASCRIPT),
];

/// A file with the path it is served at and its Subresource Integrity value.
struct Asset {
    file: &'static File,
    path: String,
    integrity: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|file| {
            let digest = Sha256::digest(file.body);
            let mut version = String::with_capacity(16);
            for byte in &digest[..8] {
                let _ = write!(version, "{byte:02x}");
            }
            let name = file.source.rsplit('/').next().unwrap_or(file.source);
            Asset {
                file,
                path: format!("/graphiql/assets/{version}/{name}"),
                integrity: format!("sha384-{}", STANDARD.encode(Sha384::digest(file.body))),
            }
        })
        .collect()
});

static PAGE: LazyLock<String> = LazyLock::new(|| {
    let mut styles = String::new();
    let mut scripts = String::new();
    for asset in ASSETS.iter() {
        if asset.file.content_type == CSS {
            let _ = writeln!(
                styles,
                r#"    <link rel="stylesheet" href="{}" integrity="{}">"#,
                asset.path, asset.integrity
            );
        } else {
            let _ = writeln!(
                scripts,
                r#"    <script src="{}" integrity="{}"></script>"#,
                asset.path, asset.integrity
            );
        }
    }
    format!(
        r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="robots" content="noindex">
    <title>Groundwork GraphiQL</title>
    <link rel="icon" href="data:,">
{styles}  </head>
  <body>
    <div id="graphiql" data-endpoint="/graphql" data-subscription-endpoint="/graphql/ws">Loading GraphiQL…</div>
{scripts}  </body>
</html>
"#
    )
});

/// Scripts, styles, fetches and WebSockets from this origin only. Inline
/// styles stay allowed: the dialogs GraphiQL uses insert a `<style>` element.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/graphiql", get(page))
        .route("/graphiql/assets/{version}/{name}", get(asset))
}

async fn page() -> Response {
    let mut response = PAGE.as_str().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The page names the current files, so it is checked on every visit.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn asset(Path((version, name)): Path<(String, String)>) -> Response {
    let wanted = format!("/graphiql/assets/{version}/{name}");
    let Some(asset) = ASSETS.iter().find(|a| a.path == wanted) else {
        // Also what a page from an older build asks for after an upgrade.
        return (StatusCode::NOT_FOUND, "No such GraphiQL file.").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.file.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.file.body,
    )
        .into_response()
}
