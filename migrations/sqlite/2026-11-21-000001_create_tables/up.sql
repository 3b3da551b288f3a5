-- Times are Unix seconds (BIGINT) so that every backend compares them alike.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- As typed by the user; shown back to them.
    username      TEXT    NOT NULL,
    -- lower(username): the UNIQUE constraint is what makes registration
    -- race-free (two parallel "Alice"/"ALICE" sign-ups cannot both insert).
    username_key  TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    plan          TEXT    NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'premium')),
    created_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
    -- Public handle shown in GET /sessions; never the token.
    id             TEXT    PRIMARY KEY NOT NULL,
    -- SHA-256 of the cookie's token: a stolen copy of this table cannot be
    -- replayed as cookies.
    token_hash     TEXT    NOT NULL UNIQUE,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stay_signed_in BOOLEAN NOT NULL,
    created_at     BIGINT  NOT NULL,
    last_seen_at   BIGINT  NOT NULL,
    -- The earliest of idle and absolute expiry, kept current on use, so that
    -- a lookup is one indexed comparison.
    expires_at     BIGINT  NOT NULL,
    user_agent     TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE posts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    published_at BIGINT  NOT NULL
);
CREATE INDEX posts_newest_first ON posts (published_at DESC, id DESC);

-- One row per post a user opened in a month: the meter's `used` is the count
-- of a user's rows for the month, and the primary key makes re-opening free.
CREATE TABLE unlocks (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    month       INTEGER NOT NULL,
    post_id     INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    unlocked_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, month, post_id)
);

-- Failed-login counting per lower-cased username (existing or not, so the
-- lockout does not reveal which usernames exist).
CREATE TABLE login_throttle (
    username_key      TEXT   PRIMARY KEY NOT NULL,
    attempts          INTEGER NOT NULL,
    window_started_at BIGINT NOT NULL,
    locked_until      BIGINT
);
