//! The log's filter: `RUST_LOG`, but with the crates below tollgate that
//! see secrets held to their warnings whatever it asks.

/// The crates below tollgate that see what must never be logged —
/// statements and their parameters (password and token hashes), SMTP
/// conversations (messages with their links), HTTP headers (cookies, the
/// Stripe key) — and so are held to [`QUIET_LEVEL`] whatever `RUST_LOG`
/// asks: none of them logs a secret today at any level, but that is each
/// crate's choice, which an upgrade could change. Matched as prefixes of
/// a target, as `RUST_LOG` matches them.
const QUIET: &[&str] = &[
    "tokio_postgres",
    "postgres_protocol",
    "diesel",
    "diesel_async",
    "diesel_migrations",
    "libsqlite3_sys",
    "lettre",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "actix_http",
    "actix_server",
    "actix_session",
];

/// How much the [`QUIET`] crates may say: their warnings and errors.
const QUIET_LEVEL: &str = "warn";

/// `RUST_LOG`'s filter, with the `QUIET` crates held to their warnings:
/// any directive of the caller's for one of them (or a module inside one)
/// is dropped, and a directive capping it is added.
pub fn filter(rust_log: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    let quiet = |target: &str| {
        QUIET.iter().any(|crate_name| {
            target == *crate_name || target.starts_with(&format!("{crate_name}::"))
        })
    };
    let mut directives: Vec<String> = rust_log
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
        .filter(|directive| {
            // `target[span{field=value}]=level`, or a bare level.
            let target = directive
                .split(['[', '='])
                .next()
                .unwrap_or_default()
                .trim();
            !quiet(target)
        })
        .map(str::to_owned)
        .collect();
    directives.extend(QUIET.iter().map(|name| format!("{name}={QUIET_LEVEL}")));
    tracing_subscriber::EnvFilter::try_new(directives.join(",")).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drivers_say_no_more_than_warnings_whatever_rust_log_asks() {
        use tracing::Level;
        use tracing_subscriber::layer::SubscriberExt;

        for rust_log in [
            "trace",
            "tokio_postgres=trace,trace",
            "tokio_postgres::query=trace,lettre::transport=trace,debug",
            "info,hyper[request]=trace",
        ] {
            let filter = filter(rust_log).unwrap();
            let subscriber = tracing_subscriber::registry().with(filter);
            tracing::subscriber::with_default(subscriber, || {
                for (enabled, level) in [
                    (
                        tracing::enabled!(target: "tokio_postgres::query", Level::DEBUG),
                        "debug",
                    ),
                    (
                        tracing::enabled!(target: "tokio_postgres", Level::TRACE),
                        "trace",
                    ),
                    (
                        tracing::enabled!(target: "lettre::transport::smtp", Level::TRACE),
                        "trace",
                    ),
                    (tracing::enabled!(target: "hyper", Level::INFO), "info"),
                ] {
                    assert!(!enabled, "{rust_log:?} let a driver log at {level}");
                }
                assert!(tracing::enabled!(target: "tokio_postgres", Level::WARN));
            });
        }
        // What RUST_LOG asks of tollgate itself is kept.
        let subscriber = tracing_subscriber::registry().with(filter("tollgate=trace").unwrap());
        tracing::subscriber::with_default(subscriber, || {
            assert!(tracing::enabled!(target: "tollgate::db", tracing::Level::TRACE));
        });
        assert!(filter("tollgate=loud").is_err());
    }
}
