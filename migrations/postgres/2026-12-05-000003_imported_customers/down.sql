ALTER TABLE billing_customers DROP COLUMN imported;
