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
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use std::sync::Arc;

use crate::accounts::members;
use crate::auth::passkeys::RelyingParty;
use crate::auth::providers::Providers;
use crate::auth::{IpLimits, LoginThrottle};
use crate::billing::prices::Kept;
use crate::billing::StripeClient;
use crate::client_ip::TrustedProxies;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::insights::CREDIT_SECONDS;
use crate::db::{
    self, anonymous, billing, email_sign_ins, email_tokens, events, identities, ip_limits, outbox,
    passkeys, paywall_notices, posts, sessions, throttle, two_factor, Pool,
};
use crate::domain::gift::GiftKey;
use crate::domain::{Lifetimes, Month};
use crate::mail::{self, Outbox};
use crate::metrics::Metrics;
use crate::middleware;
use crate::middleware::guard;
use crate::routes;
use crate::session::{secret, TokenStore, COOKIE_NAME};
use crate::state::AppState;
use crate::webhooks;

pub struct Application {
    port: u16,
    server: Server,
    /// The `/metrics` listener, when METRICS_ADDR is set, and its port.
    metrics_server: Option<(Server, u16)>,
    pool: Pool,
    settings: Settings,
    clock: Clock,
    sender: mail::sender::Sender,
    newsletters: mail::newsletters::NewsletterSender,
    webhooks: webhooks::deliverer::Deliverer,
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
        // Migrating waits on the database: on a blocking thread, like every
        // other database call.
        let (migrating, seed) = (pool.clone(), settings.seed_demo_posts);
        tokio::task::spawn_blocking(move || {
            let mut conn = migrating
                .get()
                .context("cannot connect to the database (DATABASE_URL)")?;
            db::migrate(&mut conn)?;
            if seed {
                db::seed_demo_posts(&mut conn)?;
            }
            anyhow::Ok(())
        })
        .await
        .context("the migrations panicked")??;
        let key = secret::signing_key(&settings)?;
        let logins = LoginThrottle::new(&settings, pool.clone(), clock.clone())?;
        let lifetimes = Lifetimes::new(
            settings.session_ttl,
            settings.session_absolute_ttl,
            settings.remember_ttl,
        );

        let mail = Outbox::new(&settings, &key);
        let sender =
            mail::sender::Sender::new(&settings, &key, pool.clone(), clock.clone(), mail.waker())?;

        let listener = TcpListener::bind(settings.address())
            .with_context(|| format!("cannot listen on {} (HOST, PORT)", settings.address()))?;
        let port = listener.local_addr()?.port();
        let newsletters = mail::newsletters::NewsletterSender::new(
            &settings,
            pool.clone(),
            clock.clone(),
            mail.newsletters_waker(),
            settings.public_url_on(port),
        )?;

        let metrics = Arc::new(Metrics::new(&routes::patterns()).context("cannot set up metrics")?);
        let metrics_server = match settings.metrics_addr {
            Some(addr) => Some(metrics_server(
                addr,
                metrics.clone(),
                pool.clone(),
                clock.clone(),
            )?),
            None => None,
        };
        let webhooks_wake = Arc::new(tokio::sync::Notify::new());
        let webhooks = webhooks::deliverer::Deliverer::new(
            &settings,
            pool.clone(),
            clock.clone(),
            metrics.clone(),
            webhooks_wake.clone(),
        )?;
        let trusted_proxies = TrustedProxies::new(&settings.trusted_proxies);
        let not_yet_due = Arc::new(crate::db::posts::NotYetDue::default());

        if settings.stripe_incomplete {
            tracing::warn!(
                "billing is off: set all of STRIPE_SECRET_KEY, STRIPE_PRICE_ID and \
                 STRIPE_WEBHOOK_SECRET to turn it on (only some are set)"
            );
        }
        let stripe = settings.stripe.as_ref().map(|stripe| {
            StripeClient::new(
                &settings.stripe_api_base,
                stripe.secret_key.clone(),
                settings.stripe_timeout,
            )
        });
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            settings: settings.clone(),
            clock: clock.clone(),
            lifetimes,
            logins,
            ip_limits: IpLimits::new(&settings),
            metrics,
            stripe,
            prices: Kept::default(),
            mail,
            not_yet_due: not_yet_due.clone(),
            reader_json: Arc::default(),
            passkeys: Arc::new(RelyingParty::new(
                &settings.webauthn_rp_id,
                settings.webauthn_origins.clone(),
            )?),
            providers: Arc::new(Providers::new(
                &settings.providers,
                settings.public_url_on(port),
            )?),
            gift_key: GiftKey::derive(key.signing()),
            webhooks_wake,
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
            // first. In request order: the edge (access log, cross-site
            // refusals; on the way out the cookie's lifetime, JSON errors,
            // contract headers), with CORS inside it for a request with an
            // `Origin` or an `OPTIONS` → session → the route's guard → the
            // route.
            App::new()
                .app_data(state.clone())
                .app_data(trusted_proxies.clone())
                .configure(|cfg| guarded_routes(cfg, &state))
                .default_service(web::to(guard::unknown_path))
                .wrap(sessions)
                .wrap(middleware::Edge::new(cors(&origins), key.clone()))
        })
        // Every answer leaves as soon as it is written. With Nagle's
        // algorithm on, an answer written in more than one piece (a post's
        // kept bytes, then its meter; a streamed body) holds its last
        // piece until the client acknowledges the first, which a client
        // delays for 40 ms: a long post took 44 ms with the server idle.
        // actix writes a response's pieces as one buffer where it can, so
        // this costs no extra packets for a small answer.
        .tcp_nodelay(true)
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
            metrics_server,
            pool,
            settings,
            clock,
            sender,
            newsletters,
            webhooks,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` listens on, when METRICS_ADDR is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(_, port)| *port)
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
        let mut sender = tokio::spawn(self.sender.run(stop.clone()));
        let mut newsletters = tokio::spawn(self.newsletters.run(stop.clone()));
        let mut webhooks = tokio::spawn(self.webhooks.run(stop));
        let purger = tokio::spawn(purge_expired(
            self.pool.clone(),
            self.clock.clone(),
            self.settings.purge_interval,
            self.settings.login_lockout.as_secs() as i64,
            self.settings.event_retention.as_secs() as i64,
        ));
        let metrics = self.metrics_server.map(|(server, _)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
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
        if tokio::time::timeout(Duration::from_secs(5), &mut newsletters)
            .await
            .is_err()
        {
            newsletters.abort();
        }
        // An attempt cut off here comes back when its lease ends, with the
        // same `webhook-id`.
        if tokio::time::timeout(Duration::from_secs(6), &mut webhooks)
            .await
            .is_err()
        {
            webhooks.abort();
        }
        // The metrics listener lives as long as the API does.
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        result
    }
}

/// Every route of the table, each behind the guard with its own rule.
fn guarded_routes(cfg: &mut web::ServiceConfig, state: &web::Data<AppState>) {
    for (endpoint, resource) in routes::resources() {
        cfg.service(resource.wrap(guard::Guard::new(endpoint, state.clone())));
    }
}

/// Waits, saying so in the log, until the database answers: an instance
/// started while its database is down comes up when the database does,
/// rather than exiting or serving errors.
async fn wait_for_database(pool: &Pool) {
    let mut delay = Duration::from_millis(500);
    loop {
        // Checking a connection out may ping it: off the async worker.
        let checking = pool.clone();
        let checked = tokio::task::spawn_blocking(move || checking.get().map(drop))
            .await
            .expect("a connection check-out does not panic");
        match checked {
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
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
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

/// How long an applied webhook event's id is kept: Stripe stops retrying
/// an event after three days, so a month is far beyond any replay.
const BILLING_EVENTS_KEPT_SECS: i64 = 30 * 86_400;

/// How long a webhook message is kept once every delivery of it has ended
/// (with them, in the deliveries log): a month, well past the retries'
/// day and a half, and as long as Stripe keeps its own events.
const WEBHOOK_EVENTS_KEPT_SECS: i64 = 30 * 86_400;

/// Serves `GET /metrics` on `addr`, apart from the API: its own listener
/// and one worker, so that a scrape never queues behind API requests and
/// the API's address never exposes the metrics. The pool gauges are read
/// from the pool at scrape time.
fn metrics_server(
    addr: std::net::SocketAddr,
    metrics: Arc<Metrics>,
    pool: Pool,
    clock: Clock,
) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on {addr} (METRICS_ADDR)"))?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        let (metrics, pool, clock) = (metrics.clone(), pool.clone(), clock.clone());
        App::new().route(
            "/metrics",
            web::get().to(move || {
                let (metrics, pool, now) = (metrics.clone(), pool.clone(), clock.now());
                async move {
                    let (idle, in_use) = pool.connection_counts();
                    metrics.set_pool(idle, in_use);
                    // Read at scrape time, like the pool: the outbox is
                    // shared by every instance, so this is the whole queue.
                    let pending = db::idempotent(&pool, now, |conn, _| {
                        let outbox = outbox::pending(conn)?;
                        let newsletters = db::newsletters::pending(conn)?;
                        let webhooks = db::webhooks::pending(conn)?;
                        Ok::<_, db::Error>((outbox, newsletters, webhooks))
                    });
                    match pending.await {
                        Ok((outbox, newsletters, webhooks)) => {
                            metrics.mail_outbox_pending.set(outbox);
                            metrics.newsletter_pending.set(newsletters);
                            metrics.webhook_pending.set(webhooks);
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot count the mail outbox"),
                    }
                    match metrics.encode() {
                        Ok((content_type, text)) => actix_web::HttpResponse::Ok()
                            .content_type(content_type)
                            .body(text),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot encode the metrics");
                            actix_web::HttpResponse::InternalServerError().finish()
                        }
                    }
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, port))
}

/// How many rows one round of the purge deleted, per table.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug, in the log line
struct Purged {
    sessions: usize,
    pending_logins: usize,
    webauthn_challenges: usize,
    provider_flows: usize,
    throttles: usize,
    ip_windows: usize,
    events: usize,
    paywall_notices: usize,
    anonymous_meters: usize,
    billing_events: usize,
    webhook_events: usize,
    checkouts: usize,
    email_tokens: usize,
    email_sign_ins: usize,
    messages: usize,
}

/// Deletes expired sessions, pending sign-ins, provider sign-ins and emailed sign-ins, stale lockout rows, ended per-IP windows,
/// events older than EVENT_RETENTION_DAYS, past months' paywall notices
/// and anonymous meters (and registration walls past their 30 days of
/// credit), old billing event ids, webhook messages a month after their
/// deliveries ended, and refreshes the statistics of posts on
/// PostgreSQL when they have fallen far behind,
/// every `interval` (and whenever a test moves the clock), so the tables
/// stay bounded however many logins are abandoned or IPs flood in.
async fn purge_expired(
    pool: Pool,
    clock: Clock,
    interval: Duration,
    lockout_window: i64,
    event_retention: i64,
) {
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
        let month = Month::at(now);
        // Where autovacuum does not run (or lags a bulk load), the plans of
        // the readers' paths would outlive the number of posts they were
        // made for (see `posts::keep_statistics`). Before the purge, so
        // that rows the purge removed show this check has run; a job of
        // its own, so that a failed check leaves the purge to do its work.
        let checked = db::once(&pool, now, |conn, _| {
            Ok::<_, db::Error>(posts::keep_statistics(conn)?)
        })
        .await;
        match checked {
            Ok(true) => tracing::info!("analyzed posts: their statistics had fallen behind"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not check the statistics of posts"),
        }
        // Complimentary grants that ran out are reported to webhooks; a job
        // of its own, in rounds, so that many lapsing at once hold no lock
        // for long and a failure leaves the purge to do its work.
        loop {
            let ended = db::once(&pool, now, |conn, now| {
                let limit = members::LAPSES_PER_ROUND;
                Ok::<_, db::Error>(members::end_lapsed_grants(conn, now, limit)?)
            })
            .await;
            match ended {
                Ok(ended) if ended as i64 == members::LAPSES_PER_ROUND => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not end the grants that ran out");
                    break;
                }
            }
        }
        let purged = db::once(&pool, now, move |conn, now| {
            Ok::<_, db::Error>(Purged {
                sessions: sessions::purge_expired(conn, now)?,
                pending_logins: two_factor::purge_expired_pending(conn, now)?,
                webauthn_challenges: passkeys::purge_expired(conn, now)?,
                provider_flows: identities::purge_expired(conn, now)?,
                throttles: throttle::purge_expired(conn, now, lockout_window)?,
                ip_windows: ip_limits::purge_expired(conn, now)?,
                events: events::purge_older_than(conn, now - event_retention)?,
                paywall_notices: paywall_notices::purge_before(conn, month)?,
                anonymous_meters: anonymous::purge(conn, month, now - CREDIT_SECONDS)?,
                billing_events: billing::purge_events(conn, now - BILLING_EVENTS_KEPT_SECS)?,
                webhook_events: db::webhooks::purge_ended(conn, now - WEBHOOK_EVENTS_KEPT_SECS)?,
                checkouts: billing::purge_checkouts(conn, now)?,
                email_tokens: email_tokens::purge_expired(conn, now)?,
                email_sign_ins: email_sign_ins::purge_expired(conn, now)?,
                // Done messages are kept an hour: the per-address
                // limit counts them.
                messages: outbox::purge_done(conn, now - 3_600)?,
            })
        })
        .await;
        match purged {
            Ok(purged) => tracing::debug!(?purged, "purged expired rows"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired rows"),
        }
    }
}
