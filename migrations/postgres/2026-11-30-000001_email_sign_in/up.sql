-- The PostgreSQL twin of migrations/sqlite (same version name, same columns).
-- Sign-in by email. POST /login/email records the request in
-- forgot_requests, as POST /password/forgot does (one insert, the same for
-- every address, so neither the answer nor its timing says whether an
-- account holds it); `purpose` tells the sender which message to make.
ALTER TABLE forgot_requests ADD COLUMN purpose TEXT NOT NULL DEFAULT 'reset';
ALTER TABLE forgot_requests ADD COLUMN stay_signed_in BOOLEAN NOT NULL DEFAULT FALSE;

-- One emailed sign-in: its link and its code, kept only as hashes, for the
-- address it was sent to. Whose account it opens is decided when it is
-- used (the account holding the address verified then, or a new one), so
-- a request outlives no change of who holds the address.
CREATE TABLE email_sign_ins (
    id             BIGSERIAL PRIMARY KEY,
    token_hash     TEXT    NOT NULL UNIQUE,
    -- SHA-256 of the address's key and the 6-digit code.
    code_hash      TEXT    NOT NULL,
    -- As typed by the request (a new account keeps it so), and its key.
    email          TEXT    NOT NULL,
    email_key      TEXT    NOT NULL,
    stay_signed_in BOOLEAN NOT NULL,
    -- Wrong codes typed for the address while this was live; at 5 it is
    -- dead, its link too.
    wrong_codes    INTEGER NOT NULL DEFAULT 0,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX email_sign_ins_by_address ON email_sign_ins (email_key);
CREATE INDEX email_sign_ins_by_expiry ON email_sign_ins (expires_at);
