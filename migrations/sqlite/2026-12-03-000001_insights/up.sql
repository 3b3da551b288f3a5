-- Insights: what the paywall does, counted as it happens, in the
-- transaction of the change that causes it, so that a report over any
-- range reads kept counts, never the history behind them. A day is a UTC
-- day, as days since 1970-01-01. The rows name users by id only, with no
-- reference to `users`: a deleted account's past stays counted (an id that
-- names nobody), and ids are never reused.

-- One row per day with anything counted: the site's figures. `members` and
-- `premium_members` at the end of a day are the sums of the deltas up to
-- it. A complimentary grant's lapse is counted on its future day when the
-- grant is given (and taken back if the grant changes first), so that
-- nothing has to run at that moment.
CREATE TABLE insight_days (
    day           INTEGER PRIMARY KEY NOT NULL,
    registrations INTEGER NOT NULL DEFAULT 0,
    conversions   INTEGER NOT NULL DEFAULT 0,
    cancellations INTEGER NOT NULL DEFAULT 0,
    members_delta INTEGER NOT NULL DEFAULT 0,
    premium_delta INTEGER NOT NULL DEFAULT 0,
    readers       INTEGER NOT NULL DEFAULT 0,
    paywall_hits  INTEGER NOT NULL DEFAULT 0,
    gift_readers  INTEGER NOT NULL DEFAULT 0
);

-- A post's figures as running totals: each row holds the post's counts
-- from its first day up to and including `day`, written on the days
-- something happened to it. A range's figure is the row at its end less
-- the row before its start (each found by the primary key), so a report
-- costs the same over a year as over a week. `first_readers`: users
-- reading the post for the first time.
CREATE TABLE post_tallies (
    post_id       BIGINT  NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    day           INTEGER NOT NULL,
    first_readers INTEGER NOT NULL DEFAULT 0,
    paywall_hits  INTEGER NOT NULL DEFAULT 0,
    gift_readers  INTEGER NOT NULL DEFAULT 0,
    conversions   INTEGER NOT NULL DEFAULT 0,
    registrations INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, day)
);

-- Who read a post on a day (one row per post, reader and day: a re-read
-- the same day writes nothing), and the day they read it last before
-- (`prev_day`, NULL the first time). A post's distinct readers over a
-- range are its first readers in it (`post_tallies`) and the readers who
-- came back in it after reading it before it began: the rows of the range
-- whose `prev_day` is before its start (their own index, which holds only
-- the readers who came back). The site's distinct readers of a day are
-- kept in `insight_days`, as `day_readers` first sees each one.
CREATE TABLE post_readers (
    post_id  BIGINT  NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id  BIGINT  NOT NULL,
    day      INTEGER NOT NULL,
    prev_day INTEGER,
    PRIMARY KEY (post_id, user_id, day)
);
CREATE INDEX post_readers_back ON post_readers (day, prev_day, post_id)
    WHERE prev_day IS NOT NULL;

CREATE TABLE day_readers (
    day     INTEGER NOT NULL,
    user_id BIGINT  NOT NULL,
    PRIMARY KEY (day, user_id)
);

-- A `402` of a post to a user on a day. `at`: when this post last became
-- the user's latest refusal (a conversion is credited to that post).
CREATE TABLE paywall_hits (
    user_id BIGINT  NOT NULL,
    post_id BIGINT  NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    day     INTEGER NOT NULL,
    at      BIGINT  NOT NULL,
    PRIMARY KEY (user_id, post_id, day)
);
CREATE INDEX paywall_hits_latest ON paywall_hits (user_id, at, post_id);

-- A user's plan in force going up (to premium) or down (to free) on a day,
-- with how many such moves that day: the day counts the user once.
CREATE TABLE plan_moves (
    day       INTEGER NOT NULL,
    user_id   BIGINT  NOT NULL,
    direction TEXT    NOT NULL CHECK (direction IN ('up', 'down')),
    moves     INTEGER NOT NULL,
    PRIMARY KEY (day, user_id, direction)
);

-- Monthly recurring revenue, as changes per day and currency (smallest
-- unit): each subscription that makes its user premium adds its price per
-- month; MRR at the end of a day is the sum up to it.
CREATE TABLE revenue_days (
    day      INTEGER NOT NULL,
    currency TEXT    NOT NULL,
    delta    BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, currency)
);

-- A gift's reader: the last day they opened it, and when (first open of
-- that day), so that a re-open the same day writes nothing.
ALTER TABLE gift_readers ADD COLUMN last_day INTEGER;
ALTER TABLE gift_readers ADD COLUMN last_opened_at BIGINT;
UPDATE gift_readers SET last_day = opened_at / 86400, last_opened_at = opened_at;

-- What is known already: the accounts (registered on the day they were
-- made), and who is premium now (from the day their account was made).
INSERT INTO insight_days (day, registrations, members_delta, premium_delta)
SELECT created_at / 86400, COUNT(*), COUNT(*),
       SUM(CASE WHEN plan = 'premium' OR premium_until IS NOT NULL THEN 1 ELSE 0 END)
FROM users GROUP BY created_at / 86400;
-- A grant held by a free account lapses on its day.
INSERT INTO insight_days (day, cancellations, premium_delta)
SELECT premium_until / 86400, COUNT(*), -COUNT(*)
FROM users WHERE plan <> 'premium' AND premium_until IS NOT NULL
GROUP BY premium_until / 86400
ON CONFLICT (day) DO UPDATE SET
    cancellations = insight_days.cancellations + excluded.cancellations,
    premium_delta = insight_days.premium_delta + excluded.premium_delta;
INSERT INTO plan_moves (day, user_id, direction, moves)
SELECT premium_until / 86400, id, 'down', 1
FROM users WHERE plan <> 'premium' AND premium_until IS NOT NULL;
-- The revenue of the subscriptions that make their users premium now, from
-- the day each was last changed (as `domain::insights::monthly` counts it).
INSERT INTO revenue_days (day, currency, delta)
SELECT updated_at / 86400, price_currency,
       SUM(CASE price_interval
           WHEN 'month' THEN price_amount / (COALESCE(price_interval_count, 1))
           WHEN 'year'  THEN price_amount / (12 * COALESCE(price_interval_count, 1))
           WHEN 'week'  THEN price_amount * 52 / (12 * COALESCE(price_interval_count, 1))
           WHEN 'day'   THEN price_amount * 365 / (12 * COALESCE(price_interval_count, 1))
           ELSE 0 END)
FROM billing_subscriptions
WHERE status IN ('active', 'trialing', 'past_due')
  AND price_amount IS NOT NULL AND price_currency IS NOT NULL
  AND COALESCE(price_interval_count, 1) > 0
GROUP BY updated_at / 86400, price_currency;
