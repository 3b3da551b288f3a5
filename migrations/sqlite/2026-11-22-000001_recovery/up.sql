-- Email and account recovery: an optional address per account, the tokens
-- emailed links carry, and the outbox the background sender delivers from.

-- As typed; `email_key` is its lower-cased form, compared everywhere.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_key TEXT;
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
-- Several accounts may hold one address unverified (so setting an address
-- never reveals that another account uses it); this index is what keeps
-- at most one holding it verified, whatever the timing.
CREATE UNIQUE INDEX users_verified_email ON users (email_key) WHERE email_verified;
-- POST /password/forgot finds every account holding an address.
CREATE INDEX users_email_key ON users (email_key);

-- One row per emailed link. Only the SHA-256 of the token is kept; the
-- address it was issued for is kept so that a link for an address the
-- account no longer holds is dead.
CREATE TABLE email_tokens (
    token_hash TEXT    PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify', 'reset')),
    email_key  TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX email_tokens_user_id ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_at ON email_tokens (expires_at);

-- The outbox: a message is inserted in the same transaction as the token
-- it carries, and delivered by the background sender (src/mail/). Rows
-- stay an hour after they are done (with their body blanked, so no link
-- outlives delivery here): they are what the per-address limit counts.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient       TEXT    NOT NULL,
    recipient_key   TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    created_at      BIGINT  NOT NULL,
    -- When a pending message is next due; a claim moves it forward by the
    -- lease, so a sender that dies mid-delivery leaves it due again later.
    next_attempt_at BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient_key, created_at);
