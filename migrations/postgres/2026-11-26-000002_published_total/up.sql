-- How many posts are published and live, kept by triggers in the same
-- transaction as every change to a post, so that `/blog`'s `total` costs
-- the same with 100,000 posts as with 12: total = this count minus the
-- published posts whose time has not come yet, which a server counts once
-- and remembers until `changes` moves or the first of them is due.
-- `changes` moves with every statement that touches a published post, on
-- whichever instance ran it. Triggers rather than application code, so
-- that every writer (the API, `tollgate import`, an operator's SQL) keeps
-- both true.
-- Concurrent changes take turns on the one row, and each adds its own
-- difference to the value the one before it committed.
CREATE TABLE post_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    published BIGINT NOT NULL,
    changes BIGINT NOT NULL
);
INSERT INTO post_totals (id, published, changes)
    SELECT 1, COUNT(*), 0 FROM posts WHERE status = 'published' AND deleted_at IS NULL;

-- Statement-level, with transition tables: a statement that writes many
-- posts (a bulk import, an operator's UPDATE) changes the row once, not
-- once per post, which would leave that many dead versions of it behind.
CREATE FUNCTION post_totals_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added BIGINT := 0;
    removed BIGINT := 0;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        SELECT COUNT(*) INTO added FROM new_rows
        WHERE status = 'published' AND deleted_at IS NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT COUNT(*) INTO removed FROM old_rows
        WHERE status = 'published' AND deleted_at IS NULL;
    END IF;
    IF added > 0 OR removed > 0 THEN
        UPDATE post_totals
        SET published = published + added - removed, changes = changes + 1
        WHERE id = 1;
    END IF;
    RETURN NULL;
END
$$;

-- (A trigger with transition tables takes one event, and no column list.)
CREATE TRIGGER post_totals_insert AFTER INSERT ON posts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_totals_count();
CREATE TRIGGER post_totals_update AFTER UPDATE ON posts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_totals_count();
CREATE TRIGGER post_totals_delete AFTER DELETE ON posts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION post_totals_count();

-- Start-up renders the posts stored before rendering existed (`html` NULL):
-- this finds them, or that there are none, without reading every post.
CREATE INDEX posts_unrendered ON posts (id) WHERE html IS NULL;
