-- A Stripe customer brought in with an imported member (`tollgate
-- import-members`, its stripe_customer_id): tollgate's checkouts did not
-- start that customer's subscriptions, so they carry no tollgate mark, yet
-- they are the member's (the publication's own, moved from another
-- platform on the same Stripe account).
ALTER TABLE billing_customers ADD COLUMN imported BOOLEAN NOT NULL DEFAULT FALSE;
