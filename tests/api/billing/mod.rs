//! Billing: `GET /billing/prices`, `POST /billing/checkout`,
//! `POST /billing/portal`, the Stripe webhook, the plan that follows the subscription, and leaving cleanly.
//!
//! Stripe is the local stand-in of `support/fakes/stripe_stand_in.rs`
//! (there is no internet here, and Stripe has no offline server). Webhook
//! events are shaped as Stripe's docs show them and signed as Stripe signs
//! them, with a test secret, at the app's clock (`support/stripe.rs`).

mod as_stripe_changes;
mod checkout;
mod complimentary;
mod edges;
mod offers;
mod plan;
mod prices;
mod webhook;
