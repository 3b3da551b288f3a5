//! Stripe: the webhook signature check ([`signature`]), the small client
//! for the few API calls tollgate makes ([`stripe`]), and the prices sold,
//! kept ([`prices`]). What events mean is
//! `domain::billing`; what they change is `db::billing`.

pub mod prices;
pub mod signature;
pub mod stripe;

pub use stripe::{StripeClient, StripeError};

/// The webhook's path: public (`middleware::guard`), and exempt from the
/// cross-site refusals (`middleware::cross_site`): Stripe calls it.
pub const WEBHOOK_PATH: &str = "/webhooks/stripe";
