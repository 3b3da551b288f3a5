DROP TABLE billing_trials;
