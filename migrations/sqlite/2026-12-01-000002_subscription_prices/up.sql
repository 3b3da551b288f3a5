-- The price a subscription is on and its trial, as the last event applied
-- to it told them: `GET /account` names the configured price, and the
-- amount and interval are what the revenue figures are made of (a price's
-- amount can change at Stripe; the subscription keeps what it was sold at).
ALTER TABLE billing_subscriptions ADD COLUMN price_id TEXT;
ALTER TABLE billing_subscriptions ADD COLUMN price_amount BIGINT;
ALTER TABLE billing_subscriptions ADD COLUMN price_currency TEXT;
ALTER TABLE billing_subscriptions ADD COLUMN price_interval TEXT;
ALTER TABLE billing_subscriptions ADD COLUMN price_interval_count BIGINT;
ALTER TABLE billing_subscriptions ADD COLUMN trial_end BIGINT;
