//! A fresh database for each test: a temporary SQLite file by default, or a
//! new PostgreSQL database on the server named by `TEST_DATABASE_URL`,
//! dropped again when the test ends (also when it fails).

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database};

/// Whether this run is on PostgreSQL (`TEST_DATABASE_URL` is set); tests
/// of PostgreSQL-only behaviour return early otherwise.
pub fn is_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.trim().is_empty())
}

pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Self::postgres(url.trim()).await,
            _ => Self::sqlite(),
        }
    }

    fn sqlite() -> Self {
        let dir = std::env::temp_dir().join("groundwork-tests");
        std::fs::create_dir_all(&dir).expect("create the test database folder");
        let path = dir.join(format!("{}.db", uuid::Uuid::now_v7().simple()));
        Self {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    /// A new database on the PostgreSQL server at `server_url`, whatever
    /// `TEST_DATABASE_URL` says.
    pub async fn create_postgres(server_url: &str) -> Self {
        Self::postgres(server_url).await
    }

    async fn postgres(server_url: &str) -> Self {
        let mut admin = url::Url::parse(server_url).expect("TEST_DATABASE_URL is a URL");
        admin.set_path("/postgres");
        let name = format!("gw_test_{}", uuid::Uuid::now_v7().simple());
        let conn = Database::connect(admin.as_str())
            .await
            .unwrap_or_else(|e| panic!("TEST_DATABASE_URL names no reachable server: {e}"));
        conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create the test database");
        conn.close().await.ok();
        let mut url = admin.clone();
        url.set_path(&format!("/{name}"));
        Self {
            url: url.to_string(),
            cleanup: Cleanup::Postgres {
                admin_url: admin.to_string(),
                name,
            },
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                // Drop runs inside the test's runtime, which cannot be blocked
                // on; a thread with its own runtime does the async work.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async {
                        if let Ok(conn) = Database::connect(&admin_url).await {
                            let _ = conn
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                            conn.close().await.ok();
                        }
                    });
                })
                .join();
            }
        }
    }
}
