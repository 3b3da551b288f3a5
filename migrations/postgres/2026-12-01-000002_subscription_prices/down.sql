ALTER TABLE billing_subscriptions DROP COLUMN trial_end;
ALTER TABLE billing_subscriptions DROP COLUMN price_interval_count;
ALTER TABLE billing_subscriptions DROP COLUMN price_interval;
ALTER TABLE billing_subscriptions DROP COLUMN price_currency;
ALTER TABLE billing_subscriptions DROP COLUMN price_amount;
ALTER TABLE billing_subscriptions DROP COLUMN price_id;
