//! The Prometheus series of the contract's "Metrics" section, kept with the
//! `prometheus` crate and encoded in its text format (what `promtool check
//! metrics` reads). Served by `startup` on METRICS_ADDR, never on the API's
//! address.
//!
//! One registry per instance (not the crate's global one), so that several
//! instances in one process — the tests — each count their own requests.
//!
//! The hot path is one request's count and duration, recorded by
//! `middleware::access_log`. Every label value there is bounded and
//! resolved ahead of time: the route is the matched pattern (`/blog/{id}`)
//! from a fixed list, or `unmatched` for any other path, so no path a
//! client invents can add a series; the method is one of a fixed set or
//! `OTHER`. Handles for the common statuses are created on first use and
//! then reached by index, so a request costs two atomic adds and a bucket
//! search — no hashing, no lock, no allocation.

use std::sync::OnceLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The `route` label of a path no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Methods with their own label value; any other is `OTHER`.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "DELETE", "OPTIONS", "PUT", "PATCH"];
const OTHER_METHOD: &str = "OTHER";

/// Statuses whose handles are cached (the contract's answers); a rarer one
/// goes through the label lookup, still a bounded set of values.
const STATUSES: [u16; 21] = [
    200, 201, 202, 204, 304, 400, 401, 402, 403, 404, 405, 409, 413, 415, 422, 429, 500, 501, 502,
    503, 504,
];

/// Request durations: the API answers in 0.1–100 ms, logins spend a bcrypt
/// (60–250 ms at the default cost), so the buckets are dense across both.
const DURATION_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5,
    1.0, 2.5,
];

/// What a login came to, for `tollgate_logins_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    /// `401 invalid_credentials`.
    Failure,
    /// `429 too_many_attempts`: the username is locked.
    Locked,
    /// `429 too_many_requests`: the client IP is over its limit.
    RateLimited,
}

/// What a webhook delivery's attempt came to, for
/// `tollgate_webhook_deliveries_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// A `2xx`.
    Succeeded,
    /// Not a `2xx`: tried again later.
    Retried,
    /// Not a `2xx`, and the retries ran out.
    Failed,
}

/// What opening a post came to, for `tollgate_paywall_reads_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaywallOutcome {
    /// A new post unlocked (one read spent), or a premium reader.
    Granted,
    /// A post already unlocked this month.
    Reread,
    /// `402 paywall`.
    Refused,
}

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    /// `routes.len() + 1` histograms, the last for [`UNMATCHED`].
    durations: Vec<Histogram>,
    routes: Vec<&'static str>,
    /// `[route][method][status]` handles, filled on first use.
    counters: Box<[OnceLock<IntCounter>]>,
    logins: [IntCounter; 4],
    paywall: [IntCounter; 3],
    pool: IntGaugeVec,
    /// Mail waiting in the outbox, counted when `/metrics` is scraped.
    pub mail_outbox_pending: IntGauge,
    /// Newsletter messages queued and not yet sent, counted likewise.
    pub newsletter_pending: IntGauge,
    webhook_deliveries: [IntCounter; 3],
    /// Webhook deliveries waiting, counted likewise.
    pub webhook_pending: IntGauge,
}

impl Metrics {
    /// The series, for an app whose route patterns are `routes`.
    pub fn new(routes: &[&'static str]) -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "tollgate_http_requests_total",
                "HTTP requests answered, by method, route pattern and status.",
            ),
            &["method", "route", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "tollgate_http_request_duration_seconds",
                "Time to answer an HTTP request, by route pattern.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["route"],
        )?;
        let logins = IntCounterVec::new(
            Opts::new("tollgate_logins_total", "Login attempts, by outcome."),
            &["outcome"],
        )?;
        let paywall = IntCounterVec::new(
            Opts::new(
                "tollgate_paywall_reads_total",
                "Posts opened through the paywall, by outcome.",
            ),
            &["outcome"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "tollgate_db_pool_connections",
                "Database connections of this instance's pool, by state.",
            ),
            &["state"],
        )?;
        let mail_outbox_pending = IntGauge::new(
            "tollgate_mail_outbox_pending",
            "Messages stored in the mail outbox and not yet delivered.",
        )?;
        let newsletter_pending = IntGauge::new(
            "tollgate_newsletter_messages_pending",
            "Newsletter messages queued and not yet sent.",
        )?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "tollgate_webhook_deliveries_total",
                "Webhook delivery attempts, by outcome.",
            ),
            &["outcome"],
        )?;
        let webhook_pending = IntGauge::new(
            "tollgate_webhook_pending",
            "Webhook deliveries waiting to succeed or fail.",
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("tollgate_build_info", "The running build; always 1."),
            &["version"],
        )?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(logins.clone()),
            Box::new(paywall.clone()),
            Box::new(pool.clone()),
            Box::new(mail_outbox_pending.clone()),
            Box::new(newsletter_pending.clone()),
            Box::new(webhook_deliveries.clone()),
            Box::new(webhook_pending.clone()),
            Box::new(build_info),
        ] {
            registry.register(collector)?;
        }

        let routes: Vec<&'static str> = routes.to_vec();
        let durations = routes
            .iter()
            .copied()
            .chain([UNMATCHED])
            .map(|route| duration.with_label_values(&[route]))
            .collect();
        let slots = (routes.len() + 1) * (METHODS.len() + 1) * STATUSES.len();
        let logins = ["success", "failure", "locked", "rate_limited"]
            .map(|outcome| logins.with_label_values(&[outcome]));
        let paywall =
            ["granted", "reread", "refused"].map(|outcome| paywall.with_label_values(&[outcome]));
        let webhook_deliveries = ["succeeded", "retried", "failed"]
            .map(|outcome| webhook_deliveries.with_label_values(&[outcome]));
        // Both states appear from the first scrape on.
        for state in ["idle", "in_use"] {
            pool.with_label_values(&[state]).set(0);
        }
        Ok(Metrics {
            registry,
            requests,
            durations,
            routes,
            counters: (0..slots).map(|_| OnceLock::new()).collect(),
            logins,
            paywall,
            pool,
            mail_outbox_pending,
            newsletter_pending,
            webhook_deliveries,
            webhook_pending,
        })
    }

    /// Counts one answered request. `route` is the matched pattern, if any
    /// (anything not in the route list counts as [`UNMATCHED`]).
    pub fn observe_request(&self, method: &str, route: Option<&str>, status: u16, seconds: f64) {
        let route_index = route
            .and_then(|r| self.routes.iter().position(|known| *known == r))
            .unwrap_or(self.routes.len());
        self.durations[route_index].observe(seconds);
        let method_index = METHODS
            .iter()
            .position(|m| *m == method)
            .unwrap_or(METHODS.len());
        let route_label = self.routes.get(route_index).copied().unwrap_or(UNMATCHED);
        let method_label = METHODS.get(method_index).copied().unwrap_or(OTHER_METHOD);
        match STATUSES.iter().position(|s| *s == status) {
            Some(status_index) => {
                let slot = (route_index * (METHODS.len() + 1) + method_index) * STATUSES.len()
                    + status_index;
                self.counters[slot]
                    .get_or_init(|| {
                        self.requests.with_label_values(&[
                            method_label,
                            route_label,
                            &status.to_string(),
                        ])
                    })
                    .inc();
            }
            None => self
                .requests
                .with_label_values(&[method_label, route_label, &status.to_string()])
                .inc(),
        }
    }

    pub fn webhook_delivery(&self, outcome: WebhookOutcome) {
        self.webhook_deliveries[outcome as usize].inc();
    }

    pub fn login(&self, outcome: LoginOutcome) {
        self.logins[outcome as usize].inc();
    }

    pub fn paywall(&self, outcome: PaywallOutcome) {
        self.paywall[outcome as usize].inc();
    }

    /// Sets the pool gauges (at scrape time: the pool knows, no need to
    /// count on every checkout).
    pub fn set_pool(&self, idle: u32, in_use: u32) {
        self.pool.with_label_values(&["idle"]).set(i64::from(idle));
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(in_use));
    }

    /// Everything, in Prometheus's text format.
    pub fn encode(&self) -> Result<(String, String), prometheus::Error> {
        let encoder = TextEncoder::new();
        let mut buffer = Vec::new();
        encoder.encode(&self.registry.gather(), &mut buffer)?;
        Ok((
            encoder.format_type().to_owned(),
            String::from_utf8_lossy(&buffer).into_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_pattern_and_unknown_paths_share_one_label() {
        let metrics = Metrics::new(&["/blog", "/blog/{id}"]).unwrap();
        metrics.observe_request("GET", Some("/blog/{id}"), 200, 0.001);
        metrics.observe_request("GET", Some("/blog/{id}"), 200, 0.001);
        metrics.observe_request("GET", None, 404, 0.001);
        metrics.observe_request("BREW", Some("/nowhere"), 418, 0.001);
        metrics.login(LoginOutcome::Success);
        metrics.paywall(PaywallOutcome::Refused);
        let (_, text) = metrics.encode().unwrap();
        assert!(text.contains(
            r#"tollgate_http_requests_total{method="GET",route="/blog/{id}",status="200"} 2"#
        ));
        assert!(text.contains(
            r#"tollgate_http_requests_total{method="GET",route="unmatched",status="404"} 1"#
        ));
        assert!(text.contains(
            r#"tollgate_http_requests_total{method="OTHER",route="unmatched",status="418"} 1"#
        ));
        assert!(text.contains(r#"tollgate_logins_total{outcome="success"} 1"#));
        assert!(text.contains(r#"tollgate_paywall_reads_total{outcome="refused"} 1"#));
        assert!(text.contains(r#"tollgate_build_info{version=""#));
        assert!(text.contains("tollgate_mail_outbox_pending 0"));
        assert!(text.contains("tollgate_newsletter_messages_pending 0"));
        assert!(text.contains(r#"tollgate_db_pool_connections{state="idle"} 0"#));
        assert!(text.contains(
            r#"tollgate_http_request_duration_seconds_bucket{route="/blog/{id}",le="0.001"} 2"#
        ));
    }
}
