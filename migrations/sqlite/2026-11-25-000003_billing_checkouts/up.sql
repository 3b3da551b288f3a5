-- The Checkout Sessions tollgate opened, until they expire (an hour after):
-- deleting an account expires its open ones at Stripe, so that a tab left
-- open cannot start a subscription for an account that is gone.
CREATE TABLE billing_checkouts (
    id         TEXT    PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX billing_checkouts_user_id ON billing_checkouts (user_id);
