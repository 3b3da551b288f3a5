-- Newsletters: a post emailed to the accounts that take the newsletter.
-- One row per post ever asked to be emailed, made by the publish that asked
-- (so publishing again never emails it again). `pending` until the post is
-- visible and its recipients are queued, then `sending`, then `sent`
-- (also when unpublishing or deleting stopped it). `recipients` is how
-- many were queued, `sent` how many messages left so far.
CREATE TABLE newsletters (
    post_id    BIGINT  PRIMARY KEY NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    status     TEXT    NOT NULL,
    recipients BIGINT  NOT NULL DEFAULT 0,
    sent       BIGINT  NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL,
    queued_at  BIGINT
);
CREATE INDEX newsletters_by_status ON newsletters (status);

-- One row per message of a newsletter: queued all at once by one
-- INSERT … SELECT, then claimed and delivered as the outbox's messages are
-- (a lease in `next_attempt_at`, the attempt counted). The primary key is
-- what makes it one message per recipient per post. An account deleted
-- takes its rows with it. `token_hash`: the SHA-256 of the message's
-- unsubscribe token, set when the message is made.
CREATE TABLE newsletter_recipients (
    post_id         BIGINT  NOT NULL REFERENCES newsletters (post_id) ON DELETE CASCADE,
    user_id         BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state           TEXT    NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    token_hash      TEXT    UNIQUE,
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX newsletter_recipients_due ON newsletter_recipients (state, next_attempt_at);
CREATE INDEX newsletter_recipients_by_user ON newsletter_recipients (user_id);
