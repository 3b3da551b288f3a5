-- The PostgreSQL twin of migrations/sqlite (same version name, same columns).
-- Anonymous readers: a browser without a session, known by a hash of its
-- `tollgate_reader` cookie (`b:` + SHA-256, as gift readers are), never
-- the cookie itself. Everything here about a browser is deleted once its
-- month is over (walls: 30 days, the registration credit's window); only
-- the counts in `insight_days` stay.

-- The posts a browser opened in a month, as `unlocks` holds a member's:
-- the primary key makes a second open of a post cost nothing, and
-- `UNIQUE (reader, month, slot)` lets only one of two parallel opens take
-- the last read (see `db::anonymous`).
CREATE TABLE anonymous_unlocks (
    reader      TEXT    NOT NULL,
    month       INTEGER NOT NULL,
    post_id     BIGINT  NOT NULL,
    slot        INTEGER NOT NULL,
    unlocked_at BIGINT  NOT NULL,
    PRIMARY KEY (reader, month, post_id),
    UNIQUE (reader, month, slot)
);

-- One row per browser and month: the last day it was counted as a reader
-- and as walled (so each is counted once a day in `insight_days`).
CREATE TABLE anonymous_readers (
    reader     TEXT    NOT NULL,
    month      INTEGER NOT NULL,
    read_day   INTEGER,
    walled_day INTEGER,
    PRIMARY KEY (reader, month)
);

-- The account a browser's reads of a month joined: once, by the primary
-- key (a table of its own, so that taking them locks nothing a read of
-- the browser's locks).
CREATE TABLE anonymous_merges (
    reader  TEXT    NOT NULL,
    month   INTEGER NOT NULL,
    user_id BIGINT  NOT NULL,
    PRIMARY KEY (reader, month)
);

-- The post that last walled a browser, for crediting the registration
-- that follows within 30 days.
CREATE TABLE registration_walls (
    reader    TEXT   PRIMARY KEY NOT NULL,
    post_id   BIGINT NOT NULL,
    walled_at BIGINT NOT NULL
);
CREATE INDEX registration_walls_at ON registration_walls (walled_at);

ALTER TABLE insight_days ADD COLUMN anonymous_readers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE insight_days ADD COLUMN registration_walls INTEGER NOT NULL DEFAULT 0;

