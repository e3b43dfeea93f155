use super::*;
use crate::config::ExposeSecret;

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_vars(&map)
}

const PROD_KEY: (&str, &str) = ("SECRET_KEY", "0123456789abcdef0123456789abcdef");

#[test]
fn defaults_are_development_on_sqlite() {
    let c = load(&[]).unwrap();
    assert_eq!(c.app_env, AppEnv::Development);
    assert_eq!(c.database_url.expose_secret(), DEFAULT_DATABASE_URL);
    assert_eq!(c.bind_addr.to_string(), "127.0.0.1:8080");
    assert!(c.graphql.introspection && c.graphql.graphiql);
    assert_eq!(c.max_body_bytes, 1024 * 1024);
}

#[test]
fn production_turns_introspection_off_unless_asked() {
    let mail = ("MAIL_URL", "smtp://mail.example.com:587");
    let c = load(&[("APP_ENV", "production"), PROD_KEY, mail]).unwrap();
    assert!(!c.graphql.introspection && !c.graphql.graphiql && !c.graphql.suggestions);
    assert_eq!(c.log_format, LogFormat::Json);
    let c = load(&[
        ("APP_ENV", "production"),
        PROD_KEY,
        mail,
        ("GRAPHIQL", "on"),
    ])
    .unwrap();
    assert!(c.graphql.graphiql);
}

#[test]
fn bad_values_name_their_variable() {
    for (var, value) in [
        ("DATABASE_URL", "mysql://localhost/x"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "postgres://"),
        ("BIND_ADDR", "localhost"),
        ("APP_ENV", "staging"),
        ("APP_URL", "ftp://example.com"),
        ("CORS_ORIGINS", "https://a.example/path"),
        ("CORS_ALLOWED_HEADERS", "x-ok, bad header"),
        ("CORS_ALLOWED_HEADERS", "x-ok,*"),
        ("WS_CONNECTION_INIT_TIMEOUT", "0s"),
        ("WS_CONNECTION_INIT_TIMEOUT", "soon"),
        ("HTTP_WRITE_TIMEOUT", "0s"),
        ("WS_SESSION_CHECK_INTERVAL", "often"),
        ("WS_CHECK_RETRY_LIMIT", "0"),
        ("HTTP_HEADER_TIMEOUT", "0ms"),
        ("HTTP_BODY_TIMEOUT", "a minute"),
        ("HTTP_REQUEST_TIMEOUT", "-5s"),
        ("READYZ_TIMEOUT", "2 parsecs"),
        ("DATABASE_CONNECT_TIMEOUT", "forever"),
        ("DATABASE_ACQUIRE_TIMEOUT", "0"),
        ("DATABASE_STATEMENT_TIMEOUT", "10x"),
        ("DATABASE_IDLE_TIMEOUT", "0s"),
        ("DATABASE_MAX_LIFETIME", "soon"),
        ("LOG_FORMAT", "xml"),
        ("GRAPHQL_MAX_DEPTH", "0"),
        ("GRAPHQL_MAX_DEPTH", "ten"),
        ("GRAPHIQL", "maybe"),
        ("SESSION_IDLE_TIMEOUT", "7 fortnights"),
        ("RATE_LIMIT_SIGNIN_IP", "5"),
        ("RATE_LIMIT_PASSWORD_ACCOUNT", "0/15m"),
        ("PASSWORD_HASH_CONCURRENCY", "0"),
        ("PASSWORD_HASH_QUEUE", "-1"),
        ("MAIL_URL", "imap://x"),
        ("MAIL_FROM", "not a mailbox"),
        ("SECRET_KEY", "short"),
        ("OAUTH_MY-CORP_CLIENT_ID", "id"),
    ] {
        let err = load(&[(var, value)]).unwrap_err();
        assert_eq!(err.var, var, "{var}={value}: {err}");
        assert!(!err.to_string().contains('\n'));
    }
}

#[test]
fn production_needs_a_secret_key_and_a_mailer() {
    let err = load(&[("APP_ENV", "production")]).unwrap_err();
    assert_eq!(err.var, "SECRET_KEY");
    let err = load(&[("APP_ENV", "production"), PROD_KEY]).unwrap_err();
    assert_eq!(err.var, "MAIL_URL");
}

#[test]
fn durations_and_limits_parse() {
    assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
    assert_eq!(
        parse_duration("7d").unwrap(),
        Duration::from_secs(7 * 86400)
    );
    for bad in ["", "fast", "15x", "-1s", "99999999999999999999"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
    let c = load(&[("RATE_LIMIT_SIGNIN_ACCOUNT", "3/1h")]).unwrap();
    assert_eq!(
        c.signin_account_limit,
        Limit {
            max: 3,
            window: Duration::from_secs(3600)
        }
    );
}

#[test]
fn oauth_providers_come_from_the_environment() {
    let c = load(&[
        ("OAUTH_GITHUB_CLIENT_ID", "gh"),
        ("OAUTH_GITHUB_CLIENT_SECRET", "s"),
        ("OAUTH_ACME_CLIENT_ID", "acme"),
        ("OAUTH_ACME_CLIENT_SECRET", "s"),
        ("OAUTH_ACME_AUTH_URL", "http://127.0.0.1:9/authorize"),
        ("OAUTH_ACME_TOKEN_URL", "http://127.0.0.1:9/token"),
        ("OAUTH_ACME_USERINFO_URL", "http://127.0.0.1:9/userinfo"),
    ])
    .unwrap();
    let names: Vec<_> = c.oauth_providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["acme", "github"]);
    let github = &c.oauth_providers[1];
    assert_eq!(github.kind, OAuthKind::Github);
    assert_eq!(
        github.emails_url.as_deref(),
        Some("https://api.github.com/user/emails")
    );
    assert!(!format!("{c:?}").contains("CLIENT_SECRET=s"));
}

#[test]
fn origins_are_normalized() {
    let c = load(&[("CORS_ORIGINS", "https://a.example, http://localhost:5173/")]).unwrap();
    assert_eq!(
        c.cors_origins,
        vec!["https://a.example", "http://localhost:5173"]
    );
}

#[test]
fn cors_headers_add_to_the_defaults() {
    let c = load(&[]).unwrap();
    let names: Vec<&str> = c.cors_allowed_headers.iter().map(|h| h.as_str()).collect();
    assert_eq!(names, DEFAULT_CORS_ALLOWED_HEADERS);
    let c = load(&[(
        "CORS_ALLOWED_HEADERS",
        " X-Tenant ,,content-type, x-client-build",
    )])
    .unwrap();
    let names: Vec<&str> = c.cors_allowed_headers.iter().map(|h| h.as_str()).collect();
    assert_eq!(names[..12], DEFAULT_CORS_ALLOWED_HEADERS);
    assert_eq!(names[12..], ["x-tenant", "x-client-build"]);
}

#[test]
fn the_websocket_init_timeout_is_a_duration() {
    assert_eq!(
        load(&[]).unwrap().ws_connection_init_timeout,
        Duration::from_secs(10)
    );
    let c = load(&[("WS_CONNECTION_INIT_TIMEOUT", "1500ms")]).unwrap();
    assert_eq!(c.ws_connection_init_timeout, Duration::from_millis(1500));
    assert_eq!(c.ws_ping_interval, Duration::from_secs(30));
    let c = load(&[("WS_PING_INTERVAL", "250ms")]).unwrap();
    assert_eq!(c.ws_ping_interval, Duration::from_millis(250));
    assert!(load(&[("WS_PING_INTERVAL", "0s")]).is_err());
}

#[test]
fn timeouts_default_to_closing_idle_connections_within_30_seconds() {
    let c = load(&[]).unwrap();
    assert_eq!(c.http_timeouts.header, Duration::from_secs(20));
    assert_eq!(c.http_timeouts.body, Duration::from_secs(20));
    assert_eq!(c.http_timeouts.request, Duration::from_secs(60));
    assert_eq!(c.http_timeouts.readiness, Duration::from_secs(2));
    assert_eq!(c.http_timeouts.write, Duration::from_secs(10));
    assert_eq!(c.database_timeouts.connect, Duration::from_secs(60));
    assert_eq!(c.database_timeouts.acquire, Duration::from_secs(5));
    assert_eq!(c.database_timeouts.statement, Duration::from_secs(10));
    assert_eq!(c.database_timeouts.idle, Duration::from_secs(600));
    assert_eq!(c.database_timeouts.max_lifetime, Duration::from_secs(1800));
    assert_eq!(c.live_checks.session_interval, Duration::from_secs(5));
    assert_eq!(c.live_checks.retry_limit, Duration::from_secs(30));
}

#[test]
fn a_ping_gets_a_fifth_of_the_acquire_timeout_within_bounds() {
    let ping = |acquire: &str| {
        load(&[("DATABASE_ACQUIRE_TIMEOUT", acquire)])
            .unwrap()
            .database_timeouts
            .ping()
    };
    assert_eq!(ping("5s"), Duration::from_secs(1));
    assert_eq!(ping("2s"), Duration::from_millis(400));
    assert_eq!(ping("100ms"), Duration::from_millis(100));
    assert_eq!(ping("1m"), Duration::from_secs(2));
}

#[test]
fn secrets_do_not_print() {
    let c = load(&[("DATABASE_URL", "postgres://user:hunter2@db/app")]).unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn tracing_is_off_until_an_endpoint_is_given() {
    assert!(load(&[]).unwrap().otel.is_none());
    let c = load(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/")]).unwrap();
    let otel = c.otel.unwrap();
    assert_eq!(otel.endpoint, "http://127.0.0.1:4318");
    assert_eq!(otel.service_name, "groundwork");
    assert_eq!(otel.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(otel.batch_delay, Duration::from_secs(5));
    let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
    for (var, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_BSP_SCHEDULE_DELAY", "5s"),
    ] {
        let err = load(&[endpoint, (var, value)]).unwrap_err();
        assert_eq!(err.var, var, "{var}={value}: {err}");
    }
}

#[test]
fn trusted_documents_need_a_manifest_whose_hashes_hold() {
    let dir = std::env::temp_dir().join(format!("groundwork-config-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let doc = "query Plans { plans { id } }";
    let hash = crate::crypto::sha256_hex(doc.as_bytes());
    let good = dir.join("good.json");
    std::fs::write(
        &good,
        serde_json::json!({ hash.to_uppercase(): doc }).to_string(),
    )
    .unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        serde_json::json!({ hash.clone(): "{ apiVersion }" }).to_string(),
    )
    .unwrap();
    let c = load(&[
        ("PERSISTED_DOCUMENTS", "only"),
        ("PERSISTED_DOCUMENTS_MANIFEST", good.to_str().unwrap()),
    ])
    .unwrap();
    assert_eq!(c.graphql.persisted.mode, PersistedMode::Only);
    assert_eq!(c.graphql.persisted.manifest.get(&hash).unwrap(), doc);
    for (vars, var) in [
        (
            vec![("PERSISTED_DOCUMENTS", "sometimes")],
            "PERSISTED_DOCUMENTS",
        ),
        (
            vec![("PERSISTED_DOCUMENTS", "only")],
            "PERSISTED_DOCUMENTS_MANIFEST",
        ),
        (
            vec![
                ("PERSISTED_DOCUMENTS", "allow"),
                ("PERSISTED_DOCUMENTS_MANIFEST", bad.to_str().unwrap()),
            ],
            "PERSISTED_DOCUMENTS_MANIFEST",
        ),
        (
            vec![
                ("PERSISTED_DOCUMENTS", "allow"),
                ("PERSISTED_DOCUMENTS_MANIFEST", "/nonexistent/manifest.json"),
            ],
            "PERSISTED_DOCUMENTS_MANIFEST",
        ),
    ] {
        let err = load(&vars).unwrap_err();
        assert_eq!(err.var, var, "{vars:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn manifest_keys_may_carry_the_sha256_prefix() {
    let doc = "query Plans { plans { id } }";
    let hash = crate::crypto::sha256_hex(doc.as_bytes());
    let path = std::env::temp_dir().join(format!(
        "groundwork-manifest-{}-{}.json",
        std::process::id(),
        uuid::Uuid::now_v7()
    ));
    let load_manifest = |key: String| {
        let manifest: serde_json::Map<_, _> = [(key, serde_json::json!(doc))].into_iter().collect();
        std::fs::write(&path, serde_json::Value::Object(manifest).to_string()).unwrap();
        load(&[
            ("PERSISTED_DOCUMENTS", "only"),
            ("PERSISTED_DOCUMENTS_MANIFEST", path.to_str().unwrap()),
        ])
    };
    let prefixed = load_manifest(format!("sha256:{}", hash.to_ascii_uppercase())).unwrap();
    assert_eq!(prefixed.graphql.persisted.manifest.get(&hash).unwrap(), doc);
    let bare = load_manifest(hash.clone()).unwrap();
    assert_eq!(bare.graphql.persisted.manifest.get(&hash).unwrap(), doc);
    let err = load_manifest(format!("sha1:{hash}")).unwrap_err();
    assert_eq!(err.var, "PERSISTED_DOCUMENTS_MANIFEST");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn password_hashing_is_bounded_by_default() {
    let c = load(&[]).unwrap();
    assert!((1..=4).contains(&c.password_hash_concurrency));
    assert_eq!(
        c.password_hash_queue,
        PASSWORD_HASH_QUEUE_PER_SLOT * c.password_hash_concurrency
    );
    let c = load(&[
        ("PASSWORD_HASH_CONCURRENCY", "8"),
        ("PASSWORD_HASH_QUEUE", "0"),
    ])
    .unwrap();
    assert_eq!((c.password_hash_concurrency, c.password_hash_queue), (8, 0));
    assert_eq!(
        c.password_account_limit,
        Limit {
            max: 20,
            window: Duration::from_secs(900)
        }
    );
}
