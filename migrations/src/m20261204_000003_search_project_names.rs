use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

/// Name search that does not read every project of an organization.
///
/// Both databases search `name_folded`, the name case-folded by the server
/// itself, so a search finds the same projects on either: `LOWER()` folds
/// only ASCII on SQLite and follows the collation on PostgreSQL. PostgreSQL
/// indexes it by trigrams (`pg_trgm`; the organization stays out of that
/// index, where its posting list would be as long as the organization is
/// large, and is found by its own btree index); SQLite keeps an FTS5 table with the trigram
/// tokenizer, reached through `search_rowid` (the FTS row of each project,
/// maintained by triggers), since a table without an integer primary key
/// may see its own rowids change on VACUUM.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                for sql in [
                    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                    "ALTER TABLE projects ADD COLUMN name_folded VARCHAR(400) NOT NULL DEFAULT ''",
                    // Nothing is released before this migration, so there are
                    // no names outside ASCII that LOWER() might fold otherwise.
                    "UPDATE projects SET name_folded = LOWER(name)",
                    // fastupdate off: new names go into the index at once,
                    // not into a pending list every search must read
                    // through until a vacuum merges it (some 5 ms a search
                    // after a burst of creations).
                    "CREATE INDEX idx_projects_name_trgm ON projects \
                     USING gin (name_folded gin_trgm_ops) WITH (fastupdate = off)",
                ] {
                    db.execute_unprepared(sql).await?;
                }
            }
            DatabaseBackend::Sqlite => {
                for sql in [
                    "ALTER TABLE projects ADD COLUMN name_folded VARCHAR(400) NOT NULL DEFAULT ''",
                    "UPDATE projects SET name_folded = LOWER(name)",
                    "ALTER TABLE projects ADD COLUMN search_rowid INTEGER",
                    "CREATE UNIQUE INDEX idx_projects_search_rowid ON projects (search_rowid)",
                    // Case-sensitive: the text is folded already, and a second
                    // folding by SQLite's rules would differ from PostgreSQL's
                    // plain substring match.
                    "CREATE VIRTUAL TABLE projects_search USING fts5(name_folded, \
                     tokenize = 'trigram case_sensitive 1')",
                    "CREATE TRIGGER projects_search_insert AFTER INSERT ON projects BEGIN \
                       INSERT INTO projects_search (name_folded) VALUES (new.name_folded); \
                       UPDATE projects SET search_rowid = last_insert_rowid() WHERE rowid = new.rowid; \
                     END",
                    "CREATE TRIGGER projects_search_update AFTER UPDATE OF name_folded ON projects BEGIN \
                       UPDATE projects_search SET name_folded = new.name_folded WHERE rowid = new.search_rowid; \
                     END",
                    "CREATE TRIGGER projects_search_delete AFTER DELETE ON projects BEGIN \
                       DELETE FROM projects_search WHERE rowid = old.search_rowid; \
                     END",
                ] {
                    db.execute_unprepared(sql).await?;
                }
                // Projects made before the triggers get their rows here.
                let rows = db
                    .query_all_raw(sea_orm_migration::sea_orm::Statement::from_string(
                        DatabaseBackend::Sqlite,
                        "SELECT rowid AS r, name_folded AS n FROM projects",
                    ))
                    .await?;
                for row in rows {
                    let rowid: i64 = row.try_get("", "r")?;
                    let name: String = row.try_get("", "n")?;
                    db.execute_raw(sea_orm_migration::sea_orm::Statement::from_sql_and_values(
                        DatabaseBackend::Sqlite,
                        "INSERT INTO projects_search (name_folded) VALUES (?)",
                        [name.into()],
                    ))
                    .await?;
                    db.execute_raw(sea_orm_migration::sea_orm::Statement::from_sql_and_values(
                        DatabaseBackend::Sqlite,
                        "UPDATE projects SET search_rowid = last_insert_rowid() WHERE rowid = ?",
                        [rowid.into()],
                    ))
                    .await?;
                }
            }
            other => {
                return Err(DbErr::Migration(format!("unsupported database {other:?}")));
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "DROP INDEX idx_projects_name_trgm",
                "ALTER TABLE projects DROP COLUMN name_folded",
            ],
            _ => &[
                "DROP TRIGGER projects_search_delete",
                "DROP TRIGGER projects_search_update",
                "DROP TRIGGER projects_search_insert",
                "DROP TABLE projects_search",
                "DROP INDEX idx_projects_search_rowid",
                "ALTER TABLE projects DROP COLUMN search_rowid",
                "ALTER TABLE projects DROP COLUMN name_folded",
            ],
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
