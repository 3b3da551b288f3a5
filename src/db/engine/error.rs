//! What a database call can come to besides its result, in database terms:
//! `crate::error` alone decides what each means to a client.

/// What a database call can come to, besides its result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database is unreachable, or locked or busy for longer than
    /// DATABASE_TIMEOUT_SECONDS: a temporary condition, not a bug.
    #[error("the database is unavailable")]
    Unavailable,
    /// A row refers to one that no longer exists (a foreign-key violation):
    /// the user a row was being written for was deleted meanwhile.
    #[error("a referenced row no longer exists")]
    Vanished,
    /// Any other failure of a query: a bug.
    #[error("a database query failed")]
    Query(#[source] diesel::result::Error),
    /// The work panicked or was dropped before it answered: a bug.
    #[error("a database task failed")]
    TaskFailed,
}

impl From<diesel::result::Error> for Error {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as Diesel};
        match err {
            _ if is_unavailable(&err) => Error::Unavailable,
            Diesel::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Error::Vanished,
            _ => Error::Query(err),
        }
    }
}

/// Whether a Diesel error is a unique-constraint violation (an insert that
/// lost a race, or a duplicate).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Whether a Diesel error means "the database is busy or unreachable" (a
/// temporary condition) rather than a bug.
fn is_unavailable(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            // SQLite: SQLITE_BUSY / SQLITE_LOCKED after busy_timeout.
            // PostgreSQL: lock_timeout, a server shutting down (a lost
            // link is UnableToSendCommand, above).
            [
                "database is locked",
                "database table is locked",
                "database is busy",
                "lock timeout",
                "terminating connection",
                "the database system is",
            ]
            .iter()
            .any(|m| message.contains(m))
        }
        _ => false,
    }
}

/// Whether `err` says that the connection itself is gone.
pub(super) fn is_connection_lost(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        // The driver reports a lost link (no answer from the server at
        // all) as UnableToSendCommand, above; a server that ends the
        // session says so in an error of its own (57P01 and kin).
        Error::DatabaseError(_, info) => [
            "terminating connection",
            "the database system is shutting down",
        ]
        .iter()
        .any(|m| info.message().contains(m)),
        _ => false,
    }
}
