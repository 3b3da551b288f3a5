//! The schema's migrations, embedded in the binary (one folder per backend,
//! with the same version names) and applied at start.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::connection::{Conn, DbConnection};

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

/// Reverts the migrations from `version` on (newest first) and applies
/// them again: for testing what a migration does to rows that were there
/// before it. `version` is a migration folder's name up to its first `_`
/// (`2026-11-25-000001`).
#[cfg(test)]
pub fn redo_from(conn: &mut Conn, version: &str) -> anyhow::Result<()> {
    fn redo<C: MigrationHarness<B>, B: diesel::backend::Backend>(
        c: &mut C,
        migrations: impl Fn() -> EmbeddedMigrations,
        version: &str,
    ) -> diesel::migration::Result<()> {
        let wanted = version.replace('-', "");
        loop {
            let reverted = c.revert_last_migration(migrations())?;
            if reverted.to_string().replace('-', "") == wanted {
                break;
            }
        }
        c.run_pending_migrations(migrations()).map(|_| ())
    }
    let result = match conn {
        DbConnection::Sqlite(c) => redo(c, || SQLITE_MIGRATIONS, version),
        DbConnection::Postgres(c) => redo(c, || POSTGRES_MIGRATIONS, version),
    };
    result.map_err(|e| anyhow::anyhow!("cannot redo the migrations from {version}: {e}"))
}
