//! The prices sold, as `GET /billing/prices` answers them: read from
//! Stripe (one `GET /v1/prices/{id}` per configured price) and kept for at
//! most [`KEEP_SECONDS`] on the app's clock, so that the public route costs
//! Stripe one round of calls an hour per instance, and a Stripe outage with
//! the prices already read still answers them. One refresh at a time: the
//! requests that find the prices stale meanwhile wait for it instead of
//! calling Stripe themselves, and get what it got. A failed read is
//! remembered for [`FAILED_SECONDS`]: without that, each waiter would ask
//! Stripe again in turn when the read it waited for failed (six callers
//! during a slowdown were answered after 1, 2, … 6 s, with six calls).

use serde::Serialize;

use super::stripe::StripePrice;
use super::{StripeClient, StripeError};
use crate::config::NamedPrice;

/// How long prices read from Stripe are kept.
pub const KEEP_SECONDS: i64 = 3_600;

/// How long a failed read is answered `502` at once before Stripe is
/// asked again.
pub const FAILED_SECONDS: i64 = 30;

/// A price as clients get it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Price {
    /// The configured name (`monthly`), what a checkout asks for.
    pub name: String,
    pub amount: i64,
    pub currency: String,
    pub interval: String,
    pub interval_count: i64,
    /// The trial a checkout gives on this price.
    pub trial_days: u32,
}

/// The prices read last, and when; or when the last read failed.
#[derive(Default)]
pub struct Kept(tokio::sync::Mutex<Held>);

#[derive(Default)]
enum Held {
    #[default]
    Nothing,
    Read(i64, Vec<Price>),
    Failed(i64),
}

impl Kept {
    /// The currency of the prices as last read, however long ago (`None`
    /// before the first read).
    pub async fn currency(&self) -> Option<String> {
        match &*self.0.lock().await {
            Held::Read(_, prices) => prices.first().map(|price| price.currency.clone()),
            Held::Nothing | Held::Failed(_) => None,
        }
    }

    /// The configured prices, as kept when they were read less than
    /// [`KEEP_SECONDS`] before `now`, else as Stripe has them now (then
    /// kept). A price Stripe cannot answer fails the whole list: a partial
    /// list would misstate the offer.
    pub async fn prices(
        &self,
        stripe: &StripeClient,
        configured: &[NamedPrice],
        trial_days: u32,
        now: i64,
    ) -> Result<Vec<Price>, StripeError> {
        let mut kept = self.0.lock().await;
        match &*kept {
            Held::Read(read_at, prices) if (0..KEEP_SECONDS).contains(&(now - read_at)) => {
                return Ok(prices.clone());
            }
            Held::Failed(at) if (0..FAILED_SECONDS).contains(&(now - at)) => {
                return Err(StripeError::FailedJustNow);
            }
            // Gone stale: dropped, so that an outage past the hour is told.
            _ => *kept = Held::Nothing,
        }
        let read = read(stripe, configured, trial_days).await;
        *kept = match &read {
            Ok(prices) => Held::Read(now, prices.clone()),
            Err(_) => Held::Failed(now),
        };
        read
    }
}

/// The configured prices as Stripe has them now.
async fn read(
    stripe: &StripeClient,
    configured: &[NamedPrice],
    trial_days: u32,
) -> Result<Vec<Price>, StripeError> {
    let mut prices = Vec::with_capacity(configured.len());
    for named in configured {
        let StripePrice {
            amount,
            currency,
            interval,
            interval_count,
        } = stripe.price(&named.id).await?;
        prices.push(Price {
            name: named.name.clone(),
            amount,
            currency,
            interval,
            interval_count,
            trial_days,
        });
    }
    Ok(prices)
}
