-- Webhooks: other systems told what changed, as Standard Webhooks.
-- `events`: the types it takes, written `,member.created,post.published,`
-- (commas around each, so one LIKE finds a type) or `*` for every type.
-- `secret`: `whsec_` + base64 of 32 random bytes; during a rotation the
-- one before is kept in `previous_secret` until `previous_until`, and
-- each message is signed with both.
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    url             TEXT    NOT NULL,
    events          TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    secret          TEXT    NOT NULL,
    previous_secret TEXT,
    previous_until  BIGINT,
    created_at      BIGINT  NOT NULL
);

-- What happened, written in the transaction of the change it reports (one
-- statement, and none when no enabled webhook takes the type). `id` is the
-- message's `webhook-id` (`msg_…`), the same on every attempt; `seq`
-- orders them; `data` is the JSON of the message's `data`; `at` the time
-- of the change. `fanned_out`: its deliveries are made (by the deliverer,
-- outside the change's transaction).
CREATE TABLE webhook_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    type       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    fanned_out BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX webhook_events_waiting ON webhook_events (fanned_out, seq);

-- One row per (event, webhook): `pending` until a `2xx` (`succeeded`) or
-- the retries run out (`failed`). A claim sets `lease_until` and counts
-- the attempt; an attempt under way is one whose lease has not ended, and
-- a crash mid-attempt lets the lease run out so the delivery comes back
-- with the same `webhook-id`. The unique pair is what delivers each once.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq       BIGINT  NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
    webhook_id      BIGINT  NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    created_at      BIGINT  NOT NULL,
    UNIQUE (event_seq, webhook_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
