//! `Application`: opens the database (migrating and seeding it), binds the
//! listener, stacks the middleware and serves until stopped. Tests start it
//! on port 0 exactly as `main` does.

use std::net::TcpListener;
use std::time::Duration;

use actix_cors::Cors;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::SessionMiddleware;
use actix_web::dev::{Server, ServerHandle};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::auth::LoginThrottle;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{self, email_tokens, outbox, sessions, throttle, Pool};
use crate::domain::Lifetimes;
use crate::mail::{self, Outbox};
use crate::middleware::guard::require_session;
use crate::middleware::{access_log, contract_headers, cross_site, json_errors};
use crate::routes;
use crate::session::{cookie, secret, TokenStore, COOKIE_NAME};
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
    settings: Settings,
    clock: Clock,
    sender: mail::sender::Sender,
}

impl Application {
    /// Prepares the database and binds `HOST:PORT` (port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Application::build_with_clock(settings, Clock::system()).await
    }

    /// Like [`Application::build`], on a clock the caller holds (tests move
    /// it instead of sleeping).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Application> {
        let pool = db::connect(&settings)?;
        wait_for_database(&pool).await;
        db::migrate(&pool)?;
        if settings.seed_demo_posts {
            db::seed_demo_posts(&pool)?;
        }
        let key = secret::signing_key(&settings)?;
        let logins = LoginThrottle::new(&settings)?;
        let lifetimes = Lifetimes::new(
            settings.session_ttl,
            settings.session_absolute_ttl,
            settings.remember_ttl,
        );

        let mail = Outbox::new(&settings);
        let sender =
            mail::sender::Sender::new(&settings, pool.clone(), clock.clone(), mail.waker())?;

        let listener = TcpListener::bind(settings.address())
            .with_context(|| format!("cannot listen on {} (HOST, PORT)", settings.address()))?;
        let port = listener.local_addr()?.port();

        let state = web::Data::new(AppState {
            pool: pool.clone(),
            settings: settings.clone(),
            clock: clock.clone(),
            lifetimes,
            logins,
            mail,
        });
        let cookie_secure = settings.cookie_secure;
        let same_site = settings.cookie_same_site;
        let origins = settings.cors_allowed_origins.clone();

        let mut server = HttpServer::new(move || {
            let sessions = SessionMiddleware::builder(TokenStore, key.clone())
                .cookie_name(COOKIE_NAME.to_owned())
                .cookie_http_only(true)
                .cookie_path("/".to_owned())
                .cookie_secure(cookie_secure)
                .cookie_same_site(same_site)
                .cookie_content_security(CookieContentSecurity::Signed)
                // Browser-session cookies by default; a stay-signed-in login
                // gets its Max-Age from `cookie::apply_lifetime`.
                .session_lifecycle(BrowserSession::default())
                .build();

            // `wrap` stacks outward: the last one wrapped sees the request
            // first. In request order: access log → contract headers → JSON
            // errors → cross-site refusals → (stray CORS headers) → CORS → cookie lifetime →
            // session → guard → routes.
            App::new()
                .app_data(state.clone())
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(require_session))
                .wrap(sessions)
                .wrap(from_fn(cookie::apply_lifetime))
                .wrap(cors(&origins))
                .wrap(from_fn(cross_site::refuse_cross_site))
                .wrap(from_fn(json_errors::ensure_json_errors))
                .wrap(contract_headers())
                .wrap(from_fn(access_log::log_request))
        })
        .listen(listener)?
        // Blocking work is database calls (at most one per pooled
        // connection at a time) and bcrypt (at most one per core). More
        // threads than that only wait on the pool's lock, and on a small
        // machine hundreds of them thrash the scheduler.
        .worker_max_blocking_threads(
            settings.database_pool_size as usize
                + std::thread::available_parallelism().map_or(2, |n| n.get()),
        );
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server.run();

        Ok(Application {
            port,
            server,
            pool,
            settings,
            clock,
            sender,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server from outside (tests use it).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (SIGINT/SIGTERM or the handle),
    /// purging expired rows and delivering queued mail in the background
    /// meanwhile. Mail still queued when it stops stays in the outbox for
    /// the next start (or another instance).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop_sender, stop) = tokio::sync::watch::channel(false);
        let mut sender = tokio::spawn(self.sender.run(stop));
        let purger = tokio::spawn(purge_expired(
            self.pool.clone(),
            self.clock.clone(),
            self.settings.purge_interval,
            self.settings.login_lockout.as_secs() as i64,
        ));
        let result = self.server.await;
        purger.abort();
        // A delivery under way finishes and is recorded, so the next start
        // does not send it again; one stuck on a dead SMTP server is cut
        // off (its lease brings it back later).
        let _ = stop_sender.send(true);
        if tokio::time::timeout(Duration::from_secs(10), &mut sender)
            .await
            .is_err()
        {
            sender.abort();
        }
        result
    }
}

/// Waits, saying so in the log, until the database answers: an instance
/// started while its database is down comes up when the database does,
/// rather than exiting or serving errors.
async fn wait_for_database(pool: &Pool) {
    let mut delay = Duration::from_millis(500);
    loop {
        match pool.get() {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    retry_in_ms = delay.as_millis() as u64,
                    "the database is unreachable; waiting for it before serving"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Explicit origins with credentials; never a wildcard.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "DELETE"])
        .allowed_header(header::CONTENT_TYPE)
        .expose_headers([header::RETRY_AFTER])
        .supports_credentials()
        .max_age(600)
        // Other origins pass through without CORS headers; the cross-site
        // layer has already refused what the contract refuses.
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// Deletes expired sessions and stale lockout rows every `interval` (and
/// whenever a test moves the clock), so the tables stay bounded however
/// many logins are abandoned.
async fn purge_expired(pool: Pool, clock: Clock, interval: Duration, lockout_window: i64) {
    let mut ticker = tokio::time::interval(interval);
    let mut moved = clock.moved();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = moved.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        let now = clock.now();
        let purged = db::run(&pool, move |conn| {
            db::write_transaction(conn, |conn| {
                Ok::<_, db::Error>((
                    sessions::purge_expired(conn, now)?,
                    throttle::purge_expired(conn, now, lockout_window)?,
                    email_tokens::purge_expired(conn, now)?,
                    // Done messages are kept an hour: the per-address
                    // limit counts them.
                    outbox::purge_done(conn, now - 3_600)?,
                ))
            })
        })
        .await;
        match purged {
            Ok((sessions, throttles, tokens, messages)) => {
                tracing::debug!(sessions, throttles, tokens, messages, "purged expired rows")
            }
            Err(e) => tracing::warn!(error = %e, "could not purge expired rows"),
        }
    }
}
