//! `GET /billing/prices`, `POST /billing/checkout`, `POST /billing/portal`
//! and the Stripe webhook `POST /webhooks/stripe`.
//!
//! The two billing routes talk to Stripe between database calls, never
//! inside one: a slow Stripe holds no connection. The webhook is where
//! plans change: each event's effects commit with the record that it was
//! applied (`db::billing::apply_event`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::body::{Fields, OptionalObject};
use crate::accounts::subscriptions;
use crate::auth::ip_limits;
use crate::billing::signature;
use crate::billing::stripe::{Checkout, CHECKOUT_LIFETIME};
pub use crate::billing::WEBHOOK_PATH;
use crate::billing::{StripeClient, StripeError};
use crate::config::{NamedPrice, Stripe};
use crate::db::{self, billing};
use crate::domain::billing::{parse_event, Change};
use crate::domain::{Plan, Requester};
use crate::error::ApiError;
use crate::session::CurrentSession;
use crate::state::AppState;

/// The webhook's body limit: Stripe's events are far larger than anything
/// a browser sends here (a subscription with its items and invoice
/// settings), so this route alone reads up to 256 KiB.
const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

/// Billing's settings and client, or `501 billing_not_configured`.
fn configured(state: &AppState) -> Result<(&Stripe, &StripeClient), ApiError> {
    match (&state.settings.stripe, &state.stripe) {
        (Some(settings), Some(client)) => Ok((settings, client)),
        _ => Err(ApiError::BillingNotConfigured),
    }
}

fn unavailable(err: StripeError) -> ApiError {
    ApiError::BillingUnavailable(err.into())
}

/// `GET /billing/prices` (public): the prices sold, in the configured
/// order, as Stripe has them (kept up to an hour: `billing::prices`).
pub async fn prices(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (settings, stripe) = configured(&state)?;
    let prices = state
        .prices
        .prices(
            stripe,
            &settings.prices,
            settings.trial_days,
            state.clock.now(),
        )
        .await
        .map_err(unavailable)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "prices": prices })))
}

/// What a checkout asks for: `{"price"?, "promotion_code"?}`.
struct Asked<'a> {
    price: &'a NamedPrice,
    /// As the customer typed it; `None` for none (or a blank field).
    promotion_code: Option<String>,
}

impl<'a> Asked<'a> {
    fn read(body: &OptionalObject, settings: &'a Stripe) -> Result<Asked<'a>, ApiError> {
        let mut fields = Fields::new(&body.0);
        let price = fields.text_or_null("price", false);
        let price = fields.parse("price", price, |name| match name {
            None => Ok(settings.default_price()),
            Some(name) => settings
                .prices
                .iter()
                .find(|price| price.name == name)
                .ok_or("is not a price sold here (see GET /billing/prices)"),
        });
        let code = fields.text_or_null("promotion_code", false);
        let code = fields.parse("promotion_code", code, |code| {
            let code = code.as_deref().map(str::trim).unwrap_or("");
            if code.is_empty() {
                Ok(None)
            } else if code.len() <= 100
                && code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                Ok(Some(code.to_owned()))
            } else {
                Err("is not a promotion code (letters and digits)")
            }
        });
        match (price, code) {
            (Ok(price), Ok(promotion_code)) => Ok(Asked {
                price,
                promotion_code,
            }),
            _ => Err(fields.into_error()),
        }
    }
}

fn unknown_code() -> ApiError {
    ApiError::field("promotion_code", "is not an active promotion code")
}

/// A Stripe Checkout Session for a price sold: `200 {"url"}`.
#[tracing::instrument(name = "checkout", skip_all, fields(user_id = current.0.user.id))]
pub async fn checkout(
    state: web::Data<AppState>,
    current: CurrentSession,
    by: Requester,
    body: OptionalObject,
) -> Result<HttpResponse, ApiError> {
    let (settings, stripe) = configured(&state)?;
    let asked = Asked::read(&body, settings)?;
    let user = current.0.user;
    if user.plan == Plan::Premium {
        return Err(ApiError::AlreadyPremium);
    }
    let user_id = user.id;
    // The code first: a checkout that cannot be made makes no customer.
    let promotion = match &asked.promotion_code {
        None => None,
        Some(code) => {
            spend_promotion_try(&state, user_id, &by).await?;
            Some(
                stripe
                    .active_promotion_code(code)
                    .await
                    .map_err(unavailable)?
                    .ok_or_else(unknown_code)?,
            )
        }
    };
    let mut customer = customer_for(&state, stripe, &user).await?;
    let trial_start = match settings.trial_days {
        0 => None,
        _ => claim_trial(&state, stripe, user_id, asked.price, promotion.as_deref()).await?,
    };
    // Without a trial the session starts on the minute: a double click
    // asks Stripe for the same session twice.
    let now = state.clock.now();
    let start = trial_start.map_or(now - now.rem_euclid(60), |claim| claim.at);
    let mut forgot_one = false;
    let made = loop {
        let made = stripe
            .create_checkout_session(&Checkout {
                user_id,
                customer: &customer,
                price_id: &asked.price.id,
                promotion: promotion.as_deref(),
                trial_days: trial_start.map(|_| settings.trial_days),
                start,
                generation: trial_start.map_or(0, |claim| claim.generation),
                app_url: &state.settings.app_url,
            })
            .await;
        // Stripe no longer has the customer (deleted in its dashboard, and
        // its `customer.deleted` not applied yet): forgotten, and the
        // checkout made for a new one. No retry of the same would mend it.
        match made {
            Err(err) if err.is_missing("customer") && !forgot_one => {
                forget_customer(&state, customer).await?;
                customer = customer_for(&state, stripe, &user).await?;
                forgot_one = true;
            }
            made => break made,
        }
    };
    // Stripe refused to make the session (a code it will not apply): the
    // trial claimed for it is given back, so asking again another way
    // offers it.
    if let (
        Err(StripeError::Refused {
            status: 400..=499, ..
        }),
        Some(claim),
    ) = (&made, trial_start)
    {
        db::once(&state.pool, state.clock.now(), move |conn, _| {
            Ok::<_, ApiError>(billing::release_trial(conn, user_id, claim)?)
        })
        .await?;
    }
    let session = made.map_err(|err| match err {
        // A code Stripe knows but will not apply here (limited to
        // first-time customers, another product, its redemptions
        // used up).
        StripeError::Refused {
            status: 400,
            param: Some(param),
            ..
        } if param.starts_with("discounts") => unknown_code(),
        err => unavailable(err),
    })?;
    // Remembered until it expires, so that deleting the account can expire
    // it at Stripe first; a trial's claim notes it, so that Stripe can be
    // asked whether it was paid once the claim has lapsed.
    let (id, expires_at) = (session.id, session.expires_at);
    db::once(&state.pool, state.clock.now(), move |conn, _| {
        billing::remember_checkout(conn, user_id, &id, expires_at)?;
        if let Some(claim) = trial_start {
            billing::note_trial_session(conn, user_id, claim, &id)?;
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "url": session.url })))
}

/// Counts one promotion code looked up, for the user and for the client
/// network (PROMOTION_CODE_TRIES_PER_HOUR each), before Stripe is asked:
/// each guess is a call to Stripe, so codes cannot be guessed at its
/// expense. Past either, `429 too_many_requests` and nothing is asked.
async fn spend_promotion_try(
    state: &AppState,
    user_id: i64,
    by: &Requester,
) -> Result<(), ApiError> {
    let limits = &state.ip_limits;
    let (per_network, per_user) = (limits.promotion_codes, limits.promotion_codes_of_user);
    let network = limits.network(by.ip);
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        ip_limits::spend(conn, &per_network, &network, now)?;
        ip_limits::spend(conn, &per_user, &format!("user {user_id}"), now)
    })
    .await
}

/// The user's Stripe customer: the one remembered, or a new one made at
/// Stripe and remembered (its generation counting the ones Stripe deleted).
async fn customer_for(
    state: &AppState,
    stripe: &StripeClient,
    user: &crate::domain::User,
) -> Result<String, ApiError> {
    let user_id = user.id;
    let (known, generation) = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>((
            billing::customer_of(conn, user_id)?,
            billing::next_customer_generation(conn, user_id)?,
        ))
    })
    .await?;
    if let Some(customer) = known {
        return Ok(customer);
    }
    let made = stripe
        .create_customer(user_id, user.created_at, generation, &user.username)
        .await
        .map_err(unavailable)?;
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        Ok::<_, ApiError>(billing::remember_customer(
            conn, user_id, &made, generation, now,
        )?)
    })
    .await
}

/// Forgets `customer`, which Stripe says it no longer has.
async fn forget_customer(state: &AppState, customer: String) -> Result<(), ApiError> {
    tracing::info!("Stripe no longer has a user's customer; it is forgotten");
    db::once(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(billing::forget_customer(conn, &customer)?)
    })
    .await
    .map(|_| ())
}

/// Claims the account's one trial for this checkout: the claim (its
/// session's start and name), or `None`. Claimed before Stripe is
/// asked for the session, so that of parallel checkouts at most one (and
/// its retries) offers it. A claim held by another of the user's sessions
/// is taken over only once Stripe has settled that session: expired if it
/// was still open, and kept used for good if it was completed (its
/// subscription's events may simply not have arrived yet).
async fn claim_trial(
    state: &AppState,
    stripe: &StripeClient,
    user_id: i64,
    price: &NamedPrice,
    promotion: Option<&str>,
) -> Result<Option<billing::Claim>, ApiError> {
    let asked = (price.name.clone(), promotion.unwrap_or_default().to_owned());
    let mut unpaid: Option<String> = None;
    loop {
        let (asked, checked) = (asked.clone(), unpaid.clone());
        let trial = db::once(&state.pool, state.clock.now(), move |conn, now| {
            let asked = (asked.0.as_str(), asked.1.as_str());
            let checked = checked.as_deref();
            Ok::<_, ApiError>(billing::claim_trial(
                conn,
                user_id,
                asked,
                now,
                CHECKOUT_LIFETIME,
                checked,
            )?)
        })
        .await?;
        match trial {
            billing::Trial::Offered(claim) => return Ok(Some(claim)),
            billing::Trial::Refused => return Ok(None),
            // Settled once; held by another session since (a parallel
            // checkout's): no trial this time.
            billing::Trial::Settle { .. } if unpaid.is_some() => return Ok(None),
            billing::Trial::Settle { session } => {
                let completed = stripe
                    .settle_checkout_session(&session)
                    .await
                    .map_err(unavailable)?;
                if completed {
                    db::once(&state.pool, state.clock.now(), move |conn, _| {
                        Ok::<_, ApiError>(billing::keep_trial_used(conn, user_id, &session)?)
                    })
                    .await?;
                    return Ok(None);
                }
                unpaid = Some(session);
            }
        }
    }
}

/// A Stripe Billing Portal session: `200 {"url"}`.
#[tracing::instrument(name = "billing_portal", skip_all, fields(user_id = current.0.user.id))]
pub async fn portal(
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    let (_, stripe) = configured(&state)?;
    let user_id = current.0.user.id;
    let customer = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        let customer = billing::customer_of(conn, user_id)?;
        let subscribed = billing::has_subscribed(conn, user_id)?;
        Ok::<_, ApiError>(customer.filter(|_| subscribed))
    })
    .await?
    .ok_or(ApiError::NoBillingAccount)?;
    let return_url = format!("{}/account", state.settings.app_url);
    let url = match stripe
        .create_portal_session(&customer, &return_url, state.clock.now())
        .await
    {
        Ok(url) => url,
        // Deleted at Stripe: nothing to manage until a new subscription.
        Err(err) if err.is_missing("customer") => {
            forget_customer(&state, customer).await?;
            return Err(ApiError::NoBillingAccount);
        }
        Err(err) => return Err(unavailable(err)),
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({ "url": url })))
}

/// Stripe's events: `200 {"received": true}` once applied, replayed,
/// stale or ignored; `400 invalid_signature` (and nothing changes) unless
/// the signature is Stripe's. Without billing settings there is no secret
/// to check against, so no signature is good.
#[tracing::instrument(name = "stripe_webhook", skip_all)]
pub async fn stripe_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload).await?;
    let secret = state
        .settings
        .stripe
        .as_ref()
        .map(|stripe| stripe.webhook_secret.0.as_str());
    let header = req
        .headers()
        .get("stripe-signature")
        .map(|value| value.as_bytes());
    let now = state.clock.now();
    let checked = match secret {
        Some(secret) => signature::verify(header, &body, secret, now),
        None => Err(signature::Refused::Missing),
    };
    if let Err(why) = checked {
        tracing::info!(reason = ?why, "refused a webhook signature");
        return Err(ApiError::InvalidSignature);
    }

    // Signed by Stripe, so a body tollgate cannot read is a change in
    // Stripe's format: refused, and Stripe will retry it.
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let event = parse_event(&value)
        .map_err(|missing| ApiError::field(missing.0, "is missing or of the wrong type"))?;
    let (id, kind) = (event.id.clone(), event.kind.clone());
    let completed = match &event.change {
        Change::CheckoutCompleted {
            user_id, session, ..
        } => Some((*user_id, session.clone())),
        _ => None,
    };
    let event = std::sync::Arc::new(event);
    let first = event.clone();
    let app = state.clone();
    let applied = db::once(&state.pool, now, move |conn, now| {
        let prices = app.settings.prices_sold();
        Ok::<_, ApiError>(subscriptions::apply(conn, &first, None, prices, now)?)
    })
    .await?;
    // Both cases that need Stripe first record nothing until Stripe has
    // answered: if it cannot be reached, the event is refused (`502`) and
    // Stripe delivers it again later.
    let applied = match applied {
        billing::Applied::Tie { subscription } => {
            let stripe = configured(&state)?.1;
            let object = stripe
                .subscription(&subscription)
                .await
                .map_err(unavailable)?;
            let fetched = crate::domain::billing::parse_subscription(&object)
                .map_err(|missing| ApiError::field(missing.0, "is missing or of the wrong type"))?;
            let app = state.clone();
            db::once(&state.pool, now, move |conn, now| {
                let prices = app.settings.prices_sold();
                let fetched = Some(&fetched);
                Ok::<_, ApiError>(subscriptions::apply(conn, &event, fetched, prices, now)?)
            })
            .await?
        }
        billing::Applied::Duplicate {
            user_id,
            subscription,
        } => {
            let stripe = configured(&state)?.1;
            let Change::Subscription(sub) = &event.change else {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "a duplicate that is not a subscription's event"
                )));
            };
            // Cancelled first, then refunded: a retry of this event (Stripe
            // asks again after a 502) finds it cancelled and refunds once
            // (the refund's key is the invoice's).
            stripe
                .cancel_subscription(&subscription)
                .await
                .map_err(unavailable)?;
            let refunded = match &sub.latest_invoice {
                Some(invoice) => stripe.refund_invoice(invoice).await.map_err(unavailable)?,
                None => false,
            };
            tracing::warn!(
                user_id,
                subscription = %subscription,
                refunded,
                "cancelled a user's second live subscription"
            );
            let sub = sub.clone();
            db::once(&state.pool, now, move |conn, now| {
                Ok::<_, ApiError>(subscriptions::apply_duplicate(
                    conn, &event, &sub, user_id, refunded, now,
                )?)
            })
            .await?
        }
        billing::Applied::Orphaned { subscription } => {
            if let Some(subscription) = &subscription {
                let stripe = configured(&state)?.1;
                stripe
                    .cancel_subscription(subscription)
                    .await
                    .map_err(unavailable)?;
                tracing::info!(
                    subscription = %subscription,
                    "cancelled a subscription checked out for a deleted account"
                );
            }
            db::once(&state.pool, now, move |conn, now| {
                Ok::<_, ApiError>(billing::record_event(conn, &event, now)?)
            })
            .await?;
            billing::Applied::Orphaned { subscription }
        }
        applied => applied,
    };
    if let (billing::Applied::Applied, Some((user_id, session))) = (&applied, &completed) {
        expire_other_checkouts(&state, *user_id, session).await;
    }
    tracing::info!(event.id = %id, event.kind = %kind, outcome = ?applied, "billing event");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "received": true })))
}

/// Expires the user's Checkout Sessions other than `completed`, which was
/// just paid: a second tab's session can then no longer be paid too.
/// Should Stripe fail here, a second session paid meanwhile is still
/// caught as a second live subscription, cancelled and refunded.
async fn expire_other_checkouts(state: &AppState, user_id: i64, completed: &str) {
    let open = db::idempotent(&state.pool, state.clock.now(), move |conn, now| {
        Ok::<_, ApiError>(billing::open_checkouts(conn, user_id, now)?)
    })
    .await;
    let (Ok(open), Some(stripe)) = (open, &state.stripe) else {
        return;
    };
    for session in open.iter().filter(|session| *session != completed) {
        if let Err(err) = stripe.expire_checkout_session(session).await {
            tracing::warn!(user_id, error = %err, "could not expire a user's other checkout");
        }
    }
}

/// The raw body (the signature is over its exact bytes), at most
/// [`WEBHOOK_BODY_LIMIT`].
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > WEBHOOK_BODY_LIMIT as u64) {
        return Err(ApiError::PayloadTooLarge(WEBHOOK_BODY_LIMIT));
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::InvalidJson("the body could not be read".into()))?;
        if body.len() + chunk.len() > WEBHOOK_BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge(WEBHOOK_BODY_LIMIT));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
