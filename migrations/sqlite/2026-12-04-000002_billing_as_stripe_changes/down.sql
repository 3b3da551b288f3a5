ALTER TABLE billing_customers DROP COLUMN generation;
ALTER TABLE billing_customers DROP COLUMN forgotten;
ALTER TABLE billing_subscriptions DROP COLUMN duplicate;
ALTER TABLE billing_subscriptions DROP COLUMN cancel_at;
