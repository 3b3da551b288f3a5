//! The schema's migrations, embedded in the binary (one folder per backend,
//! with the same version names) and applied at start.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{Conn, DbConnection};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Applies the migrations this binary embeds that the database lacks.
/// Instances starting together on one PostgreSQL database take turns
/// through an advisory lock, so only one of them migrates.
pub fn migrate(conn: &mut Conn) -> anyhow::Result<()> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result
        }
    };
    result.map_err(|e| anyhow::anyhow!("cannot apply migrations: {e}"))
}

/// The advisory lock key instances hold while migrating ("tollgate" in hex).
const MIGRATION_LOCK: i64 = 0x746f_6c6c_6761_7465;

/// Reverts the newest migration and applies it again: for testing what a
/// migration does to rows that were there before it.
#[cfg(test)]
pub fn redo_newest(conn: &mut Conn) -> anyhow::Result<()> {
    let result = match conn {
        DbConnection::Sqlite(c) => c
            .revert_last_migration(SQLITE_MIGRATIONS)
            .and_then(|_| c.run_pending_migrations(SQLITE_MIGRATIONS))
            .map(|_| ()),
        DbConnection::Postgres(c) => c
            .revert_last_migration(POSTGRES_MIGRATIONS)
            .and_then(|_| c.run_pending_migrations(POSTGRES_MIGRATIONS))
            .map(|_| ()),
    };
    result.map_err(|e| anyhow::anyhow!("cannot redo the newest migration: {e}"))
}
