//! A local stand-in for the Stripe API: tests run without the internet,
//! and Stripe has no offline server, so this answers exactly the endpoints
//! tollgate calls, on 127.0.0.1 at a random port (tollgate reaches it
//! through `STRIPE_API_BASE`):
//!
//! - `POST /v1/customers`, `POST /v1/checkout/sessions`,
//!   `POST /v1/billing_portal/sessions`: a new Stripe-shaped object each;
//! - `POST /v1/checkout/sessions/{id}/expire`: the session, `expired` (a
//!   `400` for one already expired or completed, as Stripe answers);
//! - `GET /v1/checkout/sessions/{id}`: the session as made, `open` until
//!   the test pays it ([`StandIn::complete_session`]) or it is expired,
//!   else `404 resource_missing`;
//! - `GET /v1/subscriptions/{id}`: the subscription as the test said Stripe
//!   has it ([`StandIn::set_subscription`]), else `404 resource_missing`;
//! - `GET /v1/prices/{id}`: the price as the test said Stripe has it
//!   ([`StandIn::set_price`]), else `404 resource_missing`;
//! - `GET /v1/promotion_codes?code=…&active=…`: a list of the promotion
//!   codes the test gave ([`StandIn::set_promotion_code`]) with that
//!   customer-facing code (case-insensitive, as Stripe matches it) and
//!   that `active`;
//! - `DELETE /v1/subscriptions/{id}`: the subscription, `canceled`;
//! - `GET /v1/invoices/{id}`: the invoice as the test said Stripe has it
//!   ([`StandIn::set_invoice`]), else `404 resource_missing`;
//! - `POST /v1/refunds`: a refund of the `payment_intent` or `charge`
//!   sent, `succeeded`.
//!
//! A customer the test deleted ([`StandIn::delete_customer`], as in
//! Stripe's dashboard) is missing to a Checkout Session or a Billing
//! Portal session made for it: `400 resource_missing`, `param`
//! `customer`, as Stripe answers. [`StandIn::slow_down`] makes it slow.
//!
//! A Checkout Session with `discounts[0][promotion_code]` naming a code the
//! test said Stripe will not apply ([`StandIn::refuse_discount`]) is
//! refused as Stripe refuses it: `400`, `param` naming the discount.
//!
//! It records what tollgate sent (method, path, form fields, the
//! `Authorization` and `Idempotency-Key` headers; see `stand_in`) and, like
//! Stripe, answers
//! a repeated idempotency key with the first answer instead of doing the
//! work again. A test can make it lose its next answer (the work is done,
//! the caller sees a 500) or refuse everything (an outage).

use std::collections::HashMap;

use actix_web::HttpResponse;
use serde_json::{json, Value};

pub use super::stand_in::Recorded;
use super::stand_in::StandInServer;

#[derive(Default)]
struct Inner {
    /// Answers by idempotency key, replayed for a repeated key.
    answers: HashMap<String, Value>,
    /// How many objects of each kind were made.
    made: HashMap<&'static str, u32>,
    lose_next_answer: bool,
    down: bool,
    /// Subscriptions as `GET /v1/subscriptions/{id}` answers them.
    subscriptions: HashMap<String, Value>,
    /// Prices as `GET /v1/prices/{id}` answers them.
    prices: HashMap<String, Value>,
    /// Promotion codes, as `GET /v1/promotion_codes` lists them.
    promotion_codes: Vec<Value>,
    /// Promotion code ids a checkout may not apply.
    refused_discounts: Vec<String>,
    /// Checkout Sessions made, by id, with their status now and the
    /// request that made each.
    sessions: HashMap<String, Value>,
    made_by: HashMap<String, Recorded>,
    /// Checkout Sessions expired so far.
    expired: Vec<String>,
    /// Invoices as `GET /v1/invoices/{id}` answers them.
    invoices: HashMap<String, Value>,
    /// Customers deleted in Stripe's dashboard.
    deleted_customers: Vec<String>,
}

pub struct StandIn {
    /// `STRIPE_API_BASE` for tollgate.
    pub base: String,
    server: StandInServer<Inner>,
}

impl StandIn {
    pub async fn start() -> StandIn {
        let server = StandInServer::start(Inner::default(), answer).await;
        StandIn {
            base: server.base.clone(),
            server,
        }
    }

    /// Everything received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// The requests to `path`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.server.requests_to(method, path)
    }

    /// How many objects of a kind (`customer`, `checkout.session`, …) were
    /// really made, replays not counted.
    pub fn made(&self, kind: &str) -> u32 {
        self.server.state().made.get(kind).copied().unwrap_or(0)
    }

    /// The next request is carried out (and remembered under its key), but
    /// its answer is lost: the caller gets a 500.
    pub fn lose_next_answer(&self) {
        self.server.state().lose_next_answer = true;
    }

    /// What `GET /v1/subscriptions/{id}` answers for `object["id"]`.
    pub fn set_subscription(&self, object: Value) {
        let id = object["id"].as_str().expect("a subscription id").to_owned();
        self.server.state().subscriptions.insert(id, object);
    }

    /// What `GET /v1/prices/{id}` answers for `object["id"]`.
    pub fn set_price(&self, object: Value) {
        let id = object["id"].as_str().expect("a price id").to_owned();
        self.server.state().prices.insert(id, object);
    }

    /// A promotion code object as Stripe's API has it (`id`, `code`,
    /// `active`, `coupon`).
    pub fn set_promotion_code(&self, object: Value) {
        let mut state = self.server.state();
        state
            .promotion_codes
            .retain(|known| known["id"] != object["id"]);
        state.promotion_codes.push(object);
    }

    /// Checkouts applying promotion code `id` are refused (a code limited
    /// to first-time customers, say).
    pub fn refuse_discount(&self, id: &str) {
        self.server.state().refused_discounts.push(id.to_owned());
    }

    /// The requests that made the Checkout Sessions still open: those a
    /// customer could still pay.
    pub fn open_sessions(&self) -> Vec<Recorded> {
        let state = self.server.state();
        let mut open: Vec<(String, Recorded)> = state
            .sessions
            .iter()
            .filter(|(_, session)| session["status"] == "open")
            .map(|(id, _)| (id.clone(), state.made_by[id].clone()))
            .collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        open.into_iter().map(|(_, made)| made).collect()
    }

    /// The customer paid Checkout Session `id` (its status `complete`).
    pub fn complete_session(&self, id: &str) {
        let mut state = self.server.state();
        let session = state
            .sessions
            .get_mut(id)
            .expect("a session the stand-in made");
        session["status"] = json!("complete");
    }

    /// What `GET /v1/invoices/{id}` answers for `object["id"]`.
    pub fn set_invoice(&self, object: Value) {
        let id = object["id"].as_str().expect("an invoice id").to_owned();
        self.server.state().invoices.insert(id, object);
    }

    /// Customer `id` is deleted, as in Stripe's dashboard.
    pub fn delete_customer(&self, id: &str) {
        self.server.state().deleted_customers.push(id.to_owned());
    }

    /// Answers the requests whose path starts with `prefix` after `wait`.
    pub fn slow_down(&self, prefix: &str, wait: std::time::Duration) {
        self.server.slow_down(Some((prefix, wait)));
    }

    /// Every request fails with a 500 until `false`.
    pub fn set_down(&self, down: bool) {
        self.server.state().down = down;
    }
}

fn answer(inner: &mut Inner, recorded: &Recorded) -> HttpResponse {
    if inner.down {
        return stripe_error(500, "api_error", None, "Stripe is down (stand-in).");
    }
    if let Some(replayed) = recorded
        .idempotency_key
        .as_ref()
        .and_then(|key| inner.answers.get(key))
    {
        return HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(replayed.clone());
    }
    let path = recorded.path.as_str();
    if let ("GET", Some(id)) = (
        recorded.method.as_str(),
        path.strip_prefix("/v1/subscriptions/"),
    ) {
        return match inner.subscriptions.get(id) {
            Some(object) => HttpResponse::Ok().json(object),
            None => stripe_error(
                404,
                "invalid_request_error",
                Some("resource_missing"),
                "No such subscription (stand-in).",
            ),
        };
    }
    if let ("GET", Some(id)) = (recorded.method.as_str(), path.strip_prefix("/v1/invoices/")) {
        return match inner.invoices.get(id) {
            Some(object) => HttpResponse::Ok().json(object),
            None => stripe_error(
                404,
                "invalid_request_error",
                Some("resource_missing"),
                "No such invoice (stand-in).",
            ),
        };
    }
    if let Some(customer) = recorded
        .field("customer")
        .filter(|customer| inner.deleted_customers.iter().any(|gone| gone == customer))
    {
        return HttpResponse::BadRequest().json(json!({"error": {
            "type": "invalid_request_error", "code": "resource_missing",
            "param": "customer",
            "message": format!("No such customer: '{customer}' (stand-in)."),
        }}));
    }
    if let ("GET", Some(id)) = (recorded.method.as_str(), path.strip_prefix("/v1/prices/")) {
        return match inner.prices.get(id) {
            Some(object) => HttpResponse::Ok().json(object),
            None => stripe_error(
                404,
                "invalid_request_error",
                Some("resource_missing"),
                "No such price (stand-in).",
            ),
        };
    }
    if (recorded.method.as_str(), path) == ("GET", "/v1/promotion_codes") {
        let code = recorded.param("code").unwrap_or("");
        let active = recorded.param("active").map(|a| a == "true");
        let data: Vec<&Value> = inner
            .promotion_codes
            .iter()
            .filter(|p| p["code"].as_str().unwrap_or("").eq_ignore_ascii_case(code))
            .filter(|p| active.is_none_or(|active| p["active"] == active))
            .collect();
        return HttpResponse::Ok().json(json!({
            "object": "list", "url": "/v1/promotion_codes",
            "has_more": false, "data": data,
        }));
    }
    if let Some(promotion) = recorded
        .field("discounts[0][promotion_code]")
        .filter(|id| inner.refused_discounts.iter().any(|refused| refused == id))
    {
        return HttpResponse::BadRequest().json(json!({"error": {
            "type": "invalid_request_error", "code": null,
            "param": "discounts[0][promotion_code]",
            "message": format!("Promotion code {promotion} cannot be applied (stand-in)."),
        }}));
    }
    if let ("GET", Some(id)) = (
        recorded.method.as_str(),
        path.strip_prefix("/v1/checkout/sessions/"),
    ) {
        return match inner.sessions.get(id) {
            Some(session) => HttpResponse::Ok().json(session),
            None => stripe_error(
                404,
                "invalid_request_error",
                Some("resource_missing"),
                "No such checkout.session (stand-in).",
            ),
        };
    }
    if let Some(id) = path
        .strip_prefix("/v1/checkout/sessions/")
        .and_then(|rest| rest.strip_suffix("/expire"))
    {
        let not_open = inner
            .sessions
            .get(id)
            .is_some_and(|session| session["status"] != "open");
        if not_open || inner.expired.iter().any(|done| done == id) {
            return stripe_error(
                400,
                "invalid_request_error",
                None,
                "Only Checkout Sessions with a status in [\"open\"] can be expired (stand-in).",
            );
        }
        inner.expired.push(id.to_owned());
        if let Some(session) = inner.sessions.get_mut(id) {
            session["status"] = json!("expired");
        }
        return HttpResponse::Ok()
            .json(json!({"id": id, "object": "checkout.session", "status": "expired"}));
    }
    let kind = match (recorded.method.as_str(), path) {
        ("POST", "/v1/customers") => "customer",
        ("POST", "/v1/checkout/sessions") => "checkout.session",
        ("POST", "/v1/billing_portal/sessions") => "billing_portal.session",
        ("POST", "/v1/refunds") => "refund",
        ("DELETE", path) if path.starts_with("/v1/subscriptions/") => "subscription",
        _ => {
            return stripe_error(
                404,
                "invalid_request_error",
                None,
                "Unrecognized request URL (stand-in).",
            )
        }
    };
    let n = {
        let made = inner.made.entry(kind).or_default();
        *made += 1;
        *made
    };
    let object = match kind {
        "customer" => json!({
            "id": format!("cus_test_{n}"), "object": "customer",
            "name": recorded.field("name"), "livemode": false,
        }),
        "checkout.session" => json!({
            "id": format!("cs_test_{n}"), "object": "checkout.session",
            "mode": "subscription", "status": "open",
            "customer": recorded.field("customer"),
            "client_reference_id": recorded.field("client_reference_id"),
            "metadata": {"tollgate_user_id": recorded.field("metadata[tollgate_user_id]")},
            "expires_at": recorded.field("expires_at").and_then(|t| t.parse::<i64>().ok()),
            "url": format!("https://checkout.stripe.com/c/pay/cs_test_{n}"),
        }),
        "refund" => json!({
            "id": format!("re_test_{n}"), "object": "refund", "status": "succeeded",
            "payment_intent": recorded.field("payment_intent"),
            "charge": recorded.field("charge"),
        }),
        "billing_portal.session" => json!({
            "id": format!("bps_test_{n}"), "object": "billing_portal.session",
            "customer": recorded.field("customer"),
            "return_url": recorded.field("return_url"),
            "url": format!("https://billing.stripe.com/p/session/test_{n}"),
        }),
        _ => json!({
            "id": recorded.path.trim_start_matches("/v1/subscriptions/"),
            "object": "subscription", "status": "canceled",
        }),
    };
    if let Some(key) = &recorded.idempotency_key {
        inner.answers.insert(key.clone(), object.clone());
    }
    if kind == "checkout.session" {
        let id = object["id"].as_str().unwrap_or_default().to_owned();
        inner.made_by.insert(id.clone(), recorded.clone());
        inner.sessions.insert(id, object.clone());
    }
    if std::mem::take(&mut inner.lose_next_answer) {
        return stripe_error(500, "api_error", None, "The answer was lost (stand-in).");
    }
    HttpResponse::Ok().json(object)
}

/// An error in Stripe's shape.
fn stripe_error(status: u16, kind: &str, code: Option<&str>, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"error": {"type": kind, "code": code, "message": message}}))
}
