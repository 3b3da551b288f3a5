-- Billing (Stripe). Times are Unix seconds, as everywhere.

-- Each user's Stripe customer, made once by tollgate and remembered, so a
-- retried checkout never makes a second one. A customer belongs to one user.
CREATE TABLE billing_customers (
    user_id     INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    customer_id TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL
);

-- Each Stripe subscription of a user, as the webhook events last told it.
-- `last_event_created` is the `created` of the newest event applied to it:
-- an older event, delivered late, changes nothing. The user's plan is
-- premium while any of their subscriptions has a premium status.
CREATE TABLE billing_subscriptions (
    id                   TEXT    PRIMARY KEY NOT NULL,
    user_id              INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status               TEXT    NOT NULL,
    current_period_end   BIGINT,
    cancel_at_period_end BOOLEAN NOT NULL,
    last_event_created   BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL
);
CREATE INDEX billing_subscriptions_user_id ON billing_subscriptions (user_id);

-- The webhook events applied, by Stripe's event id. An event's effects are
-- committed in the same transaction as its row here, so the primary key is
-- what makes each event apply at most once: a replay, or a duplicate
-- delivered to two instances at once, loses on it and changes nothing.
CREATE TABLE billing_events (
    id          TEXT   PRIMARY KEY NOT NULL,
    kind        TEXT   NOT NULL,
    created     BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX billing_events_received_at ON billing_events (received_at);
