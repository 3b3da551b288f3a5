DROP TABLE billing_events;
DROP TABLE billing_subscriptions;
DROP TABLE billing_customers;
