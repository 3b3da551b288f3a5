-- Passkeys (WebAuthn). An account gets a random user handle with its first
-- passkey options; authenticators hand it back at sign-in.
ALTER TABLE users ADD COLUMN passkey_handle TEXT;
CREATE UNIQUE INDEX users_by_passkey_handle ON users (passkey_handle);

-- `public_key` and `counter` are the WebAuthn library's own encodings
-- (base64) of the credential's key and of its signature counter and flags.
CREATE TABLE passkeys (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT    NOT NULL UNIQUE,
    public_key    TEXT    NOT NULL,
    counter       TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- A ceremony begun and not yet answered: what the library must see again,
-- under its challenge. Taking the row out is what makes a challenge single
-- use; `expires_at` (300 s) follows the app's clock.
CREATE TABLE webauthn_challenges (
    challenge  TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('register', 'login')),
    user_id    BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX webauthn_challenges_by_expiry ON webauthn_challenges (expires_at);
