-- Sign-in with other providers: the identities an account is linked to,
-- and the sign-ins started at a provider and not yet back.

-- An account's identity at a provider: the provider's own subject id
-- (OpenID's `sub`, GitHub's user id), which never changes, unlike an
-- address or a username. One identity belongs to one account.
CREATE TABLE identities (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    email      TEXT,
    created_at BIGINT  NOT NULL
);
CREATE UNIQUE INDEX identities_by_subject ON identities (provider, subject);
CREATE INDEX identities_by_user ON identities (user_id);

-- A sign-in sent to a provider: named by the SHA-256 of its `state`, bound
-- to the browser that started it by the SHA-256 of a cookie's value, with
-- the nonce and PKCE verifier the callback checks. The callback deletes it
-- as it reads it, so each is used once, by whichever instance is called.
-- `user_id`: the account a signed-in caller is linking.
CREATE TABLE provider_flows (
    state_hash     TEXT    PRIMARY KEY,
    browser_hash   TEXT    NOT NULL,
    provider       TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    pkce_verifier  TEXT    NOT NULL,
    return_to      TEXT    NOT NULL,
    user_id        BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    stay_signed_in BOOLEAN NOT NULL,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX provider_flows_by_expiry ON provider_flows (expires_at);
