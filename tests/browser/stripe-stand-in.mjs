// A local stand-in for the Stripe API, for the browser test: there is no
// internet here and Stripe has no offline server. It answers the endpoints
// tollgate calls (customers, checkout sessions made, read and expired, billing portal sessions,
// cancelling a subscription, the two prices run.sh sells, monthly and
// yearly, and looking up a promotion code) with Stripe-shaped JSON, replays
// an answer for a repeated Idempotency-Key as Stripe does, and shows what it
// received at GET /_requests (method, path, query, form fields,
// Authorization, Idempotency-Key) so that e2e.mjs can check it.
//
// Promotion codes: E2E20 (20% off, active) and E2EOLD (inactive), listed
// by GET /v1/promotion_codes?code=…&active=… as Stripe lists them: the
// code matched without regard to case.
//
//   node stripe-stand-in.mjs <port>

import http from "node:http";

const port = Number(process.argv[2] ?? 12111);
const requests = [];
const answers = new Map();
const made = {};
// Checkout Sessions made, by id, as GET /v1/checkout/sessions/{id} answers them.
const sessions = new Map();
// The prices run.sh names in STRIPE_PRICES, as Stripe's price objects.
const price = (id, amount, interval) => ({
  id, object: "price", active: true, type: "recurring", currency: "eur", unit_amount: amount,
  product: "prod_e2e", recurring: { interval, interval_count: 1, trial_period_days: null, usage_type: "licensed" },
});
const prices = { price_e2e_monthly: price("price_e2e_monthly", 500, "month"), price_e2e_yearly: price("price_e2e_yearly", 5000, "year") };
// Stripe's promotion code objects: a customer-facing code, and the coupon it applies.
const promotion = (id, code, active) => ({
  id, object: "promotion_code", code, active, customer: null, max_redemptions: null, times_redeemed: 0,
  coupon: { id: `coupon_${id}`, object: "coupon", percent_off: 20, duration: "once", valid: true },
  restrictions: { first_time_transaction: false },
});
const promotionCodes = [promotion("promo_e2e20", "E2E20", true), promotion("promo_e2eold", "E2EOLD", false)];

function send(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

http
  .createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => (raw += chunk));
    req.on("end", () => {
      const url = new URL(req.url, "http://stand-in");
      const path = url.pathname;
      if (req.method === "GET" && path === "/_requests") return send(res, 200, requests);
      const query = Object.fromEntries(url.searchParams);
      const form = Object.fromEntries(new URLSearchParams(raw));
      const key = req.headers["idempotency-key"] ?? null;
      requests.push({ method: req.method, path, query, form, authorization: req.headers.authorization ?? null, idempotency_key: key });
      if (key && answers.has(key)) return send(res, 200, answers.get(key));
      const next = (kind) => (made[kind] = (made[kind] ?? 0) + 1);
      let object;
      if (req.method === "POST" && path === "/v1/customers") {
        object = { id: `cus_test_${next("customer")}`, object: "customer", name: form.name ?? null };
      } else if (req.method === "POST" && path === "/v1/checkout/sessions") {
        const n = next("checkout");
        object = {
          id: `cs_test_${n}`, object: "checkout.session", mode: form.mode, status: "open",
          customer: form.customer, client_reference_id: form.client_reference_id,
          url: `https://checkout.stripe.com/c/pay/cs_test_${n}`,
        };
        sessions.set(object.id, object);
      } else if (path.startsWith("/v1/checkout/sessions/")) {
        // A session as made, and its expiry (Stripe refuses to expire one
        // that is not open).
        const [id, action] = path.slice("/v1/checkout/sessions/".length).split("/");
        const session = sessions.get(id);
        if (!session) return send(res, 404, { error: { type: "invalid_request_error", code: "resource_missing", message: "No such checkout.session (stand-in)." } });
        if (req.method === "GET" && !action) return send(res, 200, session);
        if (req.method !== "POST" || action !== "expire") return send(res, 404, { error: { type: "invalid_request_error", message: "Unrecognized request URL (stand-in)." } });
        if (session.status !== "open") return send(res, 400, { error: { type: "invalid_request_error", message: "Only open Checkout Sessions can be expired (stand-in)." } });
        session.status = "expired";
        object = session;
      } else if (req.method === "POST" && path === "/v1/billing_portal/sessions") {
        const n = next("portal");
        object = { id: `bps_test_${n}`, object: "billing_portal.session", customer: form.customer, url: `https://billing.stripe.com/p/session/test_${n}` };
      } else if (req.method === "GET" && path.startsWith("/v1/prices/")) {
        const known = prices[path.slice("/v1/prices/".length)];
        if (!known) return send(res, 404, { error: { type: "invalid_request_error", code: "resource_missing", message: "No such price (stand-in)." } });
        return send(res, 200, known);
      } else if (req.method === "GET" && path === "/v1/promotion_codes") {
        const code = (query.code ?? "").toLowerCase();
        const data = promotionCodes
          .filter((p) => query.code === undefined || p.code.toLowerCase() === code)
          .filter((p) => query.active === undefined || String(p.active) === query.active)
          .slice(0, Number(query.limit ?? 10));
        return send(res, 200, { object: "list", url: "/v1/promotion_codes", has_more: false, data });
      } else if (req.method === "DELETE" && path.startsWith("/v1/subscriptions/")) {
        object = { id: path.slice("/v1/subscriptions/".length), object: "subscription", status: "canceled" };
      } else {
        return send(res, 404, { error: { type: "invalid_request_error", message: "Unrecognized request URL (stand-in)." } });
      }
      if (key) answers.set(key, object);
      send(res, 200, object);
    });
  })
  .listen(port, "127.0.0.1", () => console.log(`stripe stand-in on http://127.0.0.1:${port}`));
