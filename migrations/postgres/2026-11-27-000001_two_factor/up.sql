-- Two-step sign-in: an authenticator app (TOTP), recovery codes, and the
-- pending sign-ins a right password opens for an account that has them.

-- One authenticator per account. `enabled` is false while an enrolment
-- waits for its first code (login is unchanged until then). `last_step` is
-- the newest 30-second step whose code was accepted: only later steps are
-- accepted after it, so no code is ever accepted twice, whichever instance
-- is asked.
CREATE TABLE totp (
    user_id    BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     TEXT    NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    last_step  BIGINT,
    created_at BIGINT  NOT NULL
);

-- The SHA-256 digest of each code (120 random bits; never the code), used
-- once: `used_at` is set by the sign-in that spends it.
CREATE TABLE recovery_codes (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE UNIQUE INDEX recovery_codes_by_digest ON recovery_codes (user_id, digest);

-- A right password for an account with a second factor: the cookie's token
-- (hashed, as for sessions) names one of these, which only the second-step
-- routes accept. It is no session anywhere else.
CREATE TABLE pending_logins (
    token_hash     TEXT    PRIMARY KEY,
    user_id        BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stay_signed_in BOOLEAN NOT NULL,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX pending_logins_by_expiry ON pending_logins (expires_at);
CREATE INDEX pending_logins_by_user ON pending_logins (user_id);
