//! A small client for the few Stripe API calls tollgate makes, on reqwest
//! with rustls (no Stripe SDK: the calls are few, and an SDK is a large
//! build for them).
//!
//! Every call is form-encoded with `Authorization: Bearer <secret key>`,
//! as Stripe's API takes it; every `POST` carries an `Idempotency-Key`
//! derived from what makes the request unique, so a retried request (a
//! double click, a timeout whose request did reach Stripe) gets Stripe's
//! first answer back instead of a second customer. Each call gives up
//! after [`CONNECT_TIMEOUT`] to connect and `STRIPE_TIMEOUT_SECONDS` in
//! all: a Stripe outage becomes a quick `502 billing_unavailable`, never a
//! request that hangs. The calls are async: none holds a database
//! connection or blocks a worker while it waits.

use std::time::Duration;

use serde_json::Value;
use thread_local::ThreadLocal;

use crate::config::Secret;

/// The longest wait to connect, within the call's own timeout: a Stripe
/// that cannot be reached is known sooner than one that is slow to answer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long to wait before asking again after Stripe's `409` for a key in
/// use by a request still running.
const IDEMPOTENT_RETRY_AFTER: Duration = Duration::from_millis(500);

/// A Stripe call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    #[error("Stripe could not be reached")]
    Transport(#[source] reqwest::Error),
    #[error("Stripe answered {status}: {message}")]
    Refused {
        status: u16,
        /// Stripe's `error.code`, e.g. `resource_missing`.
        code: Option<String>,
        /// Stripe's `error.param`: the parameter it refused, if one.
        param: Option<String>,
        message: String,
    },
    #[error("Stripe's answer lacks `{0}`")]
    Unexpected(&'static str),
    #[error("the HTTP client could not be built")]
    Client(#[source] reqwest::Error),
    #[error("Stripe failed moments ago and is not asked again yet")]
    FailedJustNow,
}

impl StripeError {
    /// Whether Stripe said the object the request's `param` names does not
    /// exist (`resource_missing`): a customer deleted in its dashboard,
    /// say. No retry mends that.
    pub fn is_missing(&self, param: &str) -> bool {
        matches!(
            self,
            StripeError::Refused { code: Some(code), param: Some(named), .. }
                if code == "resource_missing" && named == param
        )
    }
}

/// The client. One `reqwest::Client` per worker thread: each actix worker
/// is its own single-threaded runtime, and a pooled connection is driven by
/// the runtime that opened it, so connections are not shared across them.
pub struct StripeClient {
    base: String,
    secret_key: Secret,
    timeout: Duration,
    http: ThreadLocal<reqwest::Client>,
}

impl StripeClient {
    /// A client for the API at `base` (`STRIPE_API_BASE`), each call
    /// bounded by `timeout` (`STRIPE_TIMEOUT_SECONDS`).
    pub fn new(base: &str, secret_key: Secret, timeout: Duration) -> StripeClient {
        StripeClient {
            base: base.trim_end_matches('/').to_owned(),
            secret_key,
            timeout,
            http: ThreadLocal::new(),
        }
    }

    fn http(&self) -> Result<&reqwest::Client, StripeError> {
        self.http.get_or_try(|| {
            reqwest::Client::builder()
                .use_rustls_tls()
                .connect_timeout(CONNECT_TIMEOUT.min(self.timeout))
                .timeout(self.timeout)
                .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(StripeError::Client)
        })
    }

    /// `POST /v1/customers`: a customer for a tollgate user. The key is the
    /// user's (id and creation time, so another deployment's user 1 never
    /// shares it) and the customer's `generation` (how many of the user's
    /// Stripe deleted before), so however often it is retried Stripe makes
    /// one, and a deleted one is never answered again.
    pub async fn create_customer(
        &self,
        user_id: i64,
        user_created_at: i64,
        generation: i32,
        username: &str,
    ) -> Result<String, StripeError> {
        let key = match generation {
            0 => format!("tollgate-customer-{user_id}-{user_created_at}"),
            n => format!("tollgate-customer-{user_id}-{user_created_at}-{n}"),
        };
        let answer = self
            .post(
                "/v1/customers",
                &key,
                &[
                    ("name", username.to_owned()),
                    ("metadata[tollgate_user_id]", user_id.to_string()),
                ],
            )
            .await?;
        text(&answer, "id")
    }

    /// `POST /v1/checkout/sessions` in subscription mode; answers the
    /// session. The idempotency key names everything the session is made
    /// of and its start (`checkout.start`): a retry from the same start
    /// asks for exactly the same session, so Stripe answers the first one
    /// again rather than a second one a user could pay for twice (Stripe
    /// refuses a key reused with other parameters, and the expiry is one
    /// of them, so it is fixed by the start too). The session expires
    /// [`CHECKOUT_LIFETIME`] after its start, and it and the subscription
    /// it starts carry `metadata[tollgate_user_id]`, by which tollgate
    /// knows them for its own among whatever else the Stripe account
    /// sells.
    pub async fn create_checkout_session(
        &self,
        checkout: &Checkout<'_>,
    ) -> Result<CheckoutSession, StripeError> {
        let expires_at = checkout.start + CHECKOUT_LIFETIME;
        let key = format!(
            "tollgate-checkout-{}-{}-{}-{}-{}-{}-{}",
            checkout.user_id,
            checkout.customer,
            checkout.price_id,
            checkout.promotion.unwrap_or("any"),
            checkout.trial_days.unwrap_or(0),
            checkout.start,
            checkout.generation
        );
        let app = checkout.app_url;
        let mut form = vec![
            ("mode", "subscription".to_owned()),
            ("customer", checkout.customer.to_owned()),
            ("client_reference_id", checkout.user_id.to_string()),
            ("line_items[0][price]", checkout.price_id.to_owned()),
            ("line_items[0][quantity]", "1".to_owned()),
            // `{CHECKOUT_SESSION_ID}` is Stripe's placeholder, which it
            // fills in when it redirects.
            (
                "success_url",
                format!("{app}/billing/success?session_id={{CHECKOUT_SESSION_ID}}"),
            ),
            ("cancel_url", format!("{app}/billing/cancel")),
            ("expires_at", expires_at.to_string()),
            ("metadata[tollgate_user_id]", checkout.user_id.to_string()),
            (
                "subscription_data[metadata][tollgate_user_id]",
                checkout.user_id.to_string(),
            ),
        ];
        // Stripe takes a discount or the code field, never both.
        match checkout.promotion {
            Some(promotion) => form.push(("discounts[0][promotion_code]", promotion.to_owned())),
            None => form.push(("allow_promotion_codes", "true".to_owned())),
        }
        if let Some(days) = checkout.trial_days {
            form.push(("subscription_data[trial_period_days]", days.to_string()));
        }
        let answer = self.post("/v1/checkout/sessions", &key, &form).await?;
        Ok(CheckoutSession {
            id: text(&answer, "id")?,
            url: text(&answer, "url")?,
            expires_at: answer["expires_at"].as_i64().unwrap_or(expires_at),
        })
    }

    /// `POST /v1/checkout/sessions/{id}/expire`: the session can no longer
    /// be paid. One that is no longer open (paid, or expired already) is
    /// as good as expired.
    pub async fn expire_checkout_session(&self, id: &str) -> Result<(), StripeError> {
        let path = format!("/v1/checkout/sessions/{}/expire", encode_path(id));
        match self
            .post(&path, &format!("tollgate-expire-{id}"), &[])
            .await
        {
            Ok(_) => Ok(()),
            // Stripe refuses to expire a session that is not open (400), or
            // one it does not have (404); either way nobody can pay it.
            Err(StripeError::Refused { status, .. }) if status == 400 || status == 404 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Settles a Checkout Session: whether it was completed (paid, or a
    /// trial started), after making sure it no longer can be. One still
    /// open is expired first (Stripe refuses to expire one completed
    /// meanwhile, and the status read after says which); one Stripe does
    /// not have was never completed.
    pub async fn settle_checkout_session(&self, id: &str) -> Result<bool, StripeError> {
        let status = match self.checkout_session_status(id).await? {
            Some(status) if status == "open" => {
                self.expire_checkout_session(id).await?;
                self.checkout_session_status(id).await?
            }
            status => status,
        };
        Ok(status.as_deref() == Some("complete"))
    }

    /// `GET /v1/checkout/sessions/{id}`: its `status` (`open`, `complete`
    /// or `expired`); `None` for one Stripe does not have.
    async fn checkout_session_status(&self, id: &str) -> Result<Option<String>, StripeError> {
        let path = format!("/v1/checkout/sessions/{}", encode_path(id));
        let request = self.http()?.get(format!("{}{path}", self.base));
        match self.send(request).await {
            Ok(session) => Ok(Some(text(&session, "status")?)),
            Err(StripeError::Refused { code, .. })
                if code.as_deref() == Some("resource_missing") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `GET /v1/subscriptions/{id}`: the subscription as Stripe has it now.
    pub async fn subscription(&self, id: &str) -> Result<Value, StripeError> {
        let path = format!("/v1/subscriptions/{}", encode_path(id));
        let request = self.http()?.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// `GET /v1/promotion_codes?code=…&active=true`: the id of the active
    /// promotion code customers type as `code`, if Stripe has one.
    pub async fn active_promotion_code(&self, code: &str) -> Result<Option<String>, StripeError> {
        let request = self
            .http()?
            .get(format!("{}/v1/promotion_codes", self.base))
            .query(&[("code", code), ("active", "true"), ("limit", "1")]);
        let answer = self.send(request).await?;
        let found = answer["data"]
            .as_array()
            .ok_or(StripeError::Unexpected("data"))?
            .first()
            .map(|promotion| text(promotion, "id"))
            .transpose()?;
        Ok(found)
    }

    /// `GET /v1/prices/{id}`: a recurring price as Stripe has it.
    pub async fn price(&self, id: &str) -> Result<StripePrice, StripeError> {
        let path = format!("/v1/prices/{}", encode_path(id));
        let request = self.http()?.get(format!("{}{path}", self.base));
        let answer = self.send(request).await?;
        let recurring = &answer["recurring"];
        Ok(StripePrice {
            amount: answer["unit_amount"]
                .as_i64()
                .ok_or(StripeError::Unexpected("unit_amount"))?,
            currency: text(&answer, "currency")?,
            interval: text(recurring, "interval")?,
            interval_count: recurring["interval_count"]
                .as_i64()
                .ok_or(StripeError::Unexpected("recurring.interval_count"))?,
        })
    }

    /// `POST /v1/billing_portal/sessions`; answers its URL. Portal sessions
    /// are short-lived, so the key holds for a minute.
    pub async fn create_portal_session(
        &self,
        customer: &str,
        return_url: &str,
        now: i64,
    ) -> Result<String, StripeError> {
        let key = format!("tollgate-portal-{customer}-{}", now.div_euclid(60));
        let answer = self
            .post(
                "/v1/billing_portal/sessions",
                &key,
                &[
                    ("customer", customer.to_owned()),
                    ("return_url", return_url.to_owned()),
                ],
            )
            .await?;
        text(&answer, "url")
    }

    /// `DELETE /v1/subscriptions/{id}`: cancels at once. A subscription
    /// Stripe no longer has is as good as cancelled. (Stripe takes no
    /// idempotency key on `DELETE`: it is idempotent already.)
    pub async fn cancel_subscription(&self, id: &str) -> Result<(), StripeError> {
        let path = format!("/v1/subscriptions/{}", encode_path(id));
        let request = self.http()?.delete(format!("{}{path}", self.base));
        match self.send(request).await {
            Ok(_) => Ok(()),
            Err(StripeError::Refused { code, .. })
                if code.as_deref() == Some("resource_missing") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Refunds what invoice `id` charged: `POST /v1/refunds` for its
    /// payment (the invoice's `payment_intent`; newer API versions list it
    /// under `payments`; older invoices name a `charge`), once however
    /// often asked (the key is the invoice's). `false` when it charged
    /// nothing (a trial, a whole discount).
    pub async fn refund_invoice(&self, id: &str) -> Result<bool, StripeError> {
        let path = format!("/v1/invoices/{}", encode_path(id));
        let invoice = self
            .send(self.http()?.get(format!("{}{path}", self.base)))
            .await?;
        let id_in = |value: &Value| match value {
            Value::String(id) if !id.is_empty() => Some(id.clone()),
            Value::Object(_) => value["id"].as_str().map(str::to_owned),
            _ => None,
        };
        let intent = id_in(&invoice["payment_intent"])
            .or_else(|| id_in(&invoice["payments"]["data"][0]["payment"]["payment_intent"]));
        let form = match (intent, id_in(&invoice["charge"])) {
            (Some(intent), _) => [("payment_intent", intent)],
            (None, Some(charge)) => [("charge", charge)],
            (None, None) => return Ok(false),
        };
        match self
            .post("/v1/refunds", &format!("tollgate-refund-{id}"), &form)
            .await
        {
            Ok(_) => Ok(true),
            Err(StripeError::Refused {
                code: Some(code), ..
            }) if code == "charge_already_refunded" => Ok(true),
            Err(e) => Err(e),
        }
    }

    async fn post(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(&str, String)],
    ) -> Result<Value, StripeError> {
        let request = || -> Result<reqwest::RequestBuilder, StripeError> {
            Ok(self
                .http()?
                .post(format!("{}{path}", self.base))
                .header("Idempotency-Key", idempotency_key)
                .form(form))
        };
        match self.send(request()?).await {
            // Stripe answers `409` while another request with the same key
            // is still running there (a double click, two instances): once
            // that one is done, the same key gets its answer.
            Err(StripeError::Refused { status: 409, .. }) => {
                tokio::time::sleep(IDEMPOTENT_RETRY_AFTER).await;
                self.send(request()?).await
            }
            answered => answered,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, StripeError> {
        let response = request
            .bearer_auth(&self.secret_key.0)
            .send()
            .await
            .map_err(StripeError::Transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(StripeError::Transport)?;
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let error = &value["error"];
        Err(StripeError::Refused {
            status: status.as_u16(),
            code: error["code"].as_str().map(str::to_owned),
            param: error["param"].as_str().map(str::to_owned),
            message: error["message"]
                .as_str()
                .unwrap_or("no error message")
                .chars()
                .take(300)
                .collect(),
        })
    }
}

/// How long a Checkout Session stays payable: Stripe's shortest, so that a
/// tab left open is not a way to subscribe much later.
pub const CHECKOUT_LIFETIME: i64 = 3_600;

/// A Checkout Session as made.
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
    pub expires_at: i64,
}

/// A recurring price as Stripe's price object has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StripePrice {
    /// In the currency's smallest unit (`unit_amount`).
    pub amount: i64,
    /// ISO 4217, lower case, as Stripe writes it.
    pub currency: String,
    /// `day`, `week`, `month` or `year` (`recurring.interval`).
    pub interval: String,
    pub interval_count: i64,
}

/// What a Checkout Session is made for.
pub struct Checkout<'a> {
    pub user_id: i64,
    pub customer: &'a str,
    pub price_id: &'a str,
    /// A promotion code's id (`promo_…`) to apply; `None`: the customer
    /// may enter one.
    pub promotion: Option<&'a str>,
    /// The free trial, in days, for a first subscription.
    pub trial_days: Option<u32>,
    /// When the session starts: its expiry and its idempotency key follow
    /// from it ([`StripeClient::create_checkout_session`]).
    pub start: i64,
    /// A trial's claim generation, part of the key: two claims made in one
    /// second are two sessions.
    pub generation: i64,
    /// `APP_URL`, where Stripe sends the user back.
    pub app_url: &'a str,
}

fn text(answer: &Value, field: &'static str) -> Result<String, StripeError> {
    answer[field]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or(StripeError::Unexpected(field))
}

/// A Stripe id as one path segment (they are `[A-Za-z0-9_]`; anything
/// else is escaped rather than trusted).
fn encode_path(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
