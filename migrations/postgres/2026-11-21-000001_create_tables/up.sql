-- The PostgreSQL twin of migrations/sqlite (same version name, same tables
-- and columns). Times are Unix seconds (BIGINT) on every backend.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    -- As typed by the user; shown back to them.
    username      TEXT    NOT NULL,
    -- lower(username): the UNIQUE constraint is what makes registration
    -- race-free across instances (two parallel "Alice"/"ALICE" sign-ups
    -- cannot both insert).
    username_key  TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    plan          TEXT    NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'premium')),
    created_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
    -- Public handle shown in GET /sessions; never the token.
    id             TEXT    PRIMARY KEY,
    -- SHA-256 of the cookie's token.
    token_hash     TEXT    NOT NULL UNIQUE,
    user_id        BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stay_signed_in BOOLEAN NOT NULL,
    created_at     BIGINT  NOT NULL,
    last_seen_at   BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    user_agent     TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE posts (
    id           BIGSERIAL PRIMARY KEY,
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    published_at BIGINT  NOT NULL
);
CREATE INDEX posts_newest_first ON posts (published_at DESC, id DESC);

-- One row per post a user opened in a month.
CREATE TABLE unlocks (
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    month       INTEGER NOT NULL,
    post_id     BIGINT  NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    unlocked_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, month, post_id)
);

-- Failed-login counting per lower-cased username.
CREATE TABLE login_throttle (
    username_key      TEXT    PRIMARY KEY,
    attempts          INTEGER NOT NULL,
    window_started_at BIGINT  NOT NULL,
    locked_until      BIGINT
);
