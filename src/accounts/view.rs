//! The Account object, as `GET /account` and the routes that change an
//! account answer it.

use serde::Serialize;

use crate::config::NamedPrice;
use crate::db::{self, billing, passkeys, two_factor, users};
use crate::domain::Plan;
use crate::time::rfc3339;

/// The Account object: the User, its email address and its subscription.
#[derive(Serialize)]
pub struct AccountView {
    #[serde(flatten)]
    user: crate::domain::User,
    email: Option<String>,
    email_verified: bool,
    /// Takes the newsletter (sent only once the address is verified).
    newsletter: bool,
    /// Complimentary premium until then (`plan` is premium meanwhile).
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    premium_until: Option<i64>,
    subscription: Option<SubscriptionView>,
    /// False for an account made by signing in with a provider, until it
    /// sets a password.
    has_password: bool,
    two_factor: TwoFactorView,
}

/// What second factors the account has.
#[derive(Serialize)]
struct TwoFactorView {
    totp: bool,
    recovery_codes_left: i64,
    passkeys: i64,
}

/// A Stripe subscription as the webhook events last told it: the
/// Subscription object, in the Account and in `subscription.updated`.
#[derive(Serialize)]
pub struct SubscriptionView {
    status: String,
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    current_period_end: Option<i64>,
    /// Whether an end is scheduled, either way Stripe schedules one.
    cancel_at_period_end: bool,
    /// When the scheduled end is; `None` while it renews.
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    cancel_at: Option<i64>,
    /// The name in `STRIPE_PRICES` of the price it is on; `None` for a
    /// price not (or no longer) configured.
    price: Option<String>,
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    trial_end: Option<i64>,
}

impl SubscriptionView {
    /// `row` as shown, its price named by the prices sold, `prices`.
    pub fn of(row: billing::SubscriptionRow, prices: &[NamedPrice]) -> SubscriptionView {
        SubscriptionView {
            price: prices
                .iter()
                .find(|price| Some(&price.id) == row.price_id.as_ref())
                .map(|price| price.name.clone()),
            status: row.status,
            current_period_end: row.current_period_end,
            cancel_at_period_end: row.cancel_at_period_end,
            cancel_at: row.cancel_at,
            trial_end: row.trial_end,
        }
    }
}

impl AccountView {
    /// The account as stored at `now`, or `None` if it has just been
    /// deleted; `prices` are the prices sold, by which its subscription's
    /// is named.
    pub fn load(
        conn: &mut db::Conn,
        user_id: i64,
        prices: &[NamedPrice],
        now: i64,
    ) -> diesel::QueryResult<Option<Self>> {
        let (Some(user), Some(email)) =
            (users::find(conn, user_id)?, users::email_of(conn, user_id)?)
        else {
            return Ok(None);
        };
        let totp = two_factor::totp_of(conn, user_id)?.is_some_and(|row| row.enabled);
        let two_factor = TwoFactorView {
            totp,
            recovery_codes_left: if totp {
                two_factor::codes_left(conn, user_id)?
            } else {
                0
            },
            passkeys: passkeys::count_of(conn, user_id)?,
        };
        Ok(Some(AccountView {
            has_password: user.has_password,
            two_factor,
            user: user.to_user(now),
            premium_until: Plan::running_grant(user.premium_until, now),
            email: email.email,
            email_verified: email.email_verified,
            newsletter: email.newsletter,
            // One that gives premium if there is one, else the latest.
            subscription: billing::subscriptions_of(conn, user_id)?
                .into_iter()
                .next()
                .map(|sub| SubscriptionView::of(sub, prices)),
        }))
    }
}
