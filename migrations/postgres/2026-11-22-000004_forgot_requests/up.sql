-- The PostgreSQL twin of migrations/sqlite (same version name, same columns).
-- POST /password/forgot only records the request here (one insert, the
-- same for every address), so that neither its answer nor its timing says
-- whether an account holds the address. The background sender (src/mail/)
-- takes each row, and in one transaction looks the holders up, records
-- their events, queues their reset links and deletes the row.
CREATE TABLE forgot_requests (
    id           BIGSERIAL PRIMARY KEY,
    -- As typed, and the lower-cased key compared everywhere.
    email        TEXT    NOT NULL,
    email_key    TEXT    NOT NULL,
    -- Who asked, for the accounts' `password_reset_requested` events.
    ip           TEXT,
    user_agent   TEXT,
    requested_at BIGINT  NOT NULL
);
