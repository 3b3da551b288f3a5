-- The PostgreSQL twin of migrations/sqlite (same version name, same tables
-- and columns). Operating it: the client IP on sessions, account events,
-- the per-IP abuse limits, and the once-a-month paywall notice.

-- The client IP (see client_ip.rs) that last used the session.
ALTER TABLE sessions ADD COLUMN ip TEXT;

-- What happened to an account, newest first (GET /account/events). Each row
-- is written in the transaction of the change it records; it goes with the
-- account, and the purge loop drops rows older than EVENT_RETENTION_DAYS.
CREATE TABLE events (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at         BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    ip         TEXT,
    user_agent TEXT,
    -- A JSON object.
    detail     TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_user_newest_first ON events (user_id, at DESC, id DESC);
CREATE INDEX events_at ON events (at);

-- Per-client-IP counters in fixed windows, shared by every instance: one
-- row per (ip, kind, window), counted up by an atomic upsert. Rows whose
-- window has passed are purged, so a flood of distinct IPs stays bounded.
CREATE TABLE ip_limits (
    ip           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    window_start BIGINT  NOT NULL,
    hits         INTEGER NOT NULL,
    expires_at   BIGINT  NOT NULL,
    PRIMARY KEY (ip, kind, window_start)
);
CREATE INDEX ip_limits_expires_at ON ip_limits (expires_at);

-- A user's first paywall refusal of a month: the primary key lets exactly
-- one `paywall` event be written per user and month, whatever the races.
CREATE TABLE paywall_notices (
    user_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    month   INTEGER NOT NULL,
    PRIMARY KEY (user_id, month)
);
