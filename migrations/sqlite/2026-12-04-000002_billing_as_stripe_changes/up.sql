-- Billing follows Stripe's objects as they really change.
-- A scheduled end, whichever way Stripe scheduled it (`cancel_at`, or
-- `cancel_at_period_end` with the period's end).
ALTER TABLE billing_subscriptions ADD COLUMN cancel_at BIGINT;
UPDATE billing_subscriptions SET cancel_at = current_period_end WHERE cancel_at_period_end;
-- A second live subscription of a user who had one, cancelled at Stripe:
-- later events about it never make it live again.
ALTER TABLE billing_subscriptions ADD COLUMN duplicate BOOLEAN NOT NULL DEFAULT FALSE;
-- A customer Stripe no longer has (deleted in its dashboard) is forgotten,
-- not deleted: its number of predecessors names the next one's creation
-- at Stripe, which must not be answered with the deleted one again.
ALTER TABLE billing_customers ADD COLUMN forgotten BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE billing_customers ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
