-- One free trial per account, ever. A checkout that offers the trial first
-- claims it (one row per user, so parallel checkouts find each other's
-- claim), for the price and promotion code it was asked with, until its
-- Checkout Session expires: a session Stripe says was never paid gives the
-- trial back, and a subscription recorded for the user ends trials for
-- good.
CREATE TABLE billing_trials (
    user_id        INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    price          TEXT    NOT NULL,
    -- '' when no code was given.
    promotion_code TEXT    NOT NULL,
    claimed_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    -- The Checkout Session made for the claim, once Stripe has made it.
    session_id     TEXT,
    -- Counts the claims of this row: each names its own Checkout Session
    -- (in the request's idempotency key), even two made in one second.
    generation     BIGINT  NOT NULL DEFAULT 0
);
