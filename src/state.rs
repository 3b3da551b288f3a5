//! `AppState`: what every handler and middleware may reach through
//! `web::Data<AppState>`. It sits low in the module tree — it imports the
//! pieces it holds, and only `startup`, `routes` and `middleware` import
//! it — so that no lower module can reach "everything": a function takes
//! the few things it needs (a pool, a clock, a setting), not the whole state.

use std::sync::Arc;

use crate::auth::{IpLimits, LoginThrottle};
use crate::billing::prices::Kept;
use crate::billing::StripeClient;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Pool;
use crate::domain::Lifetimes;
use crate::mail::Outbox;
use crate::metrics::Metrics;

pub struct AppState {
    pub pool: Pool,
    pub settings: Settings,
    /// Every "now" of a request comes from here (tests move it).
    pub clock: Clock,
    /// How long logins last, from the settings.
    pub lifetimes: Lifetimes,
    /// Password checks under the per-username lockout.
    pub logins: LoginThrottle,
    /// The per-client-IP limits (registrations, forgot-password requests).
    pub ip_limits: IpLimits,
    /// The Prometheus series this instance keeps (served at METRICS_ADDR).
    pub metrics: Arc<Metrics>,
    /// Stripe's API, when billing is configured (`settings.stripe`).
    pub stripe: Option<StripeClient>,
    /// The prices sold, as last read from Stripe (`GET /billing/prices`).
    pub prices: Kept,
    /// Queues messages in the caller's transaction; wakes the sender.
    pub mail: Outbox,
    /// `/blog`'s count of scheduled posts not yet due, between changes.
    pub not_yet_due: Arc<crate::db::posts::NotYetDue>,
    /// The answers made of the posts read lately, by version.
    pub reader_json: Arc<crate::domain::post::reader_json::Kept>,
    /// Passkeys' relying party (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`).
    pub passkeys: Arc<crate::auth::passkeys::RelyingParty>,
    /// The providers one can sign in with (OIDC_PROVIDERS, GitHub).
    pub providers: Arc<crate::auth::providers::Providers>,
    /// Derives gift links' tokens (from the cookie-signing key).
    pub gift_key: crate::domain::gift::GiftKey,
    /// Wakes the webhooks' deliverer (a webhook made or enabled, a
    /// delivery to try again), which otherwise looks every second while a
    /// webhook is enabled and every 30 s while none is.
    pub webhooks_wake: Arc<tokio::sync::Notify>,
}
