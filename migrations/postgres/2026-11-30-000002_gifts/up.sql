-- The PostgreSQL twin of migrations/sqlite (same version name, same columns).
-- Gift links: a premium reader shares a post. A gift counts in the month
-- (UTC, as the meter's `month`) it was made in, revoked or not; one live
-- link per giver, month and post. The link's token is never stored: only
-- its SHA-256 (to find the gift) and the random nonce it is derived from
-- with the server's key (to show the giver the link again), so a copy of
-- the database opens no gift.
CREATE TABLE gifts (
    id          BIGSERIAL PRIMARY KEY,
    giver_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id     BIGINT  NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    month       INTEGER NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    nonce       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    revoked_at  BIGINT,
    -- Distinct readers so far (`gift_readers`' rows), at most
    -- GIFT_MAX_READERS: the cap is held by this counter's update.
    readers     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX gifts_by_giver ON gifts (giver_id, month);
CREATE UNIQUE INDEX gifts_one_live_link ON gifts (giver_id, month, post_id)
    WHERE revoked_at IS NULL;

-- Who opened a gift: `u:<user id>` for a signed-in reader, `b:<SHA-256 of
-- the tollgate_reader cookie>` for a browser.
CREATE TABLE gift_readers (
    gift_id   BIGINT  NOT NULL REFERENCES gifts (id) ON DELETE CASCADE,
    reader    TEXT    NOT NULL,
    opened_at BIGINT  NOT NULL,
    PRIMARY KEY (gift_id, reader)
);
CREATE INDEX gift_readers_by_reader ON gift_readers (reader, opened_at);

-- A registration from a browser that opened a gift in the 30 days before:
-- credited to that gift and its post.
CREATE TABLE gift_credits (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    gift_id       BIGINT  NOT NULL REFERENCES gifts (id) ON DELETE CASCADE,
    post_id       BIGINT  NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    registered_at BIGINT  NOT NULL
);
CREATE INDEX gift_credits_by_post ON gift_credits (post_id, registered_at);
