//! The prices sold, as `GET /billing/prices` answers them: read from
//! Stripe (one `GET /v1/prices/{id}` per configured price) and kept for at
//! most [`KEEP_SECONDS`] on the app's clock, so that the public route costs
//! Stripe one round of calls an hour per instance, and a Stripe outage with
//! the prices already read still answers them. One refresh at a time: the
//! requests that find the prices stale meanwhile wait for it instead of
//! calling Stripe themselves.

use serde::Serialize;

use super::stripe::StripePrice;
use super::{StripeClient, StripeError};
use crate::config::NamedPrice;

/// How long prices read from Stripe are kept.
pub const KEEP_SECONDS: i64 = 3_600;

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

/// The prices read last, and when.
#[derive(Default)]
pub struct Kept(tokio::sync::Mutex<Option<(i64, Vec<Price>)>>);

impl Kept {
    /// The currency of the prices as last read, however long ago (`None`
    /// before the first read).
    pub async fn currency(&self) -> Option<String> {
        let kept = self.0.lock().await;
        let (_, prices) = kept.as_ref()?;
        prices.first().map(|price| price.currency.clone())
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
        if let Some((read_at, prices)) = kept.as_ref() {
            if now - read_at < KEEP_SECONDS && now >= *read_at {
                return Ok(prices.clone());
            }
        }
        // Gone stale: dropped, so that an outage past the hour is told.
        *kept = None;
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
        *kept = Some((now, prices.clone()));
        Ok(prices)
    }
}
