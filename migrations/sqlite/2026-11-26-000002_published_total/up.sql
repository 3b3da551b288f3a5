-- How many posts are published and live, kept by triggers in the same
-- transaction as every change to a post, so that `/blog`'s `total` costs
-- the same with 100,000 posts as with 12: total = this count minus the
-- published posts whose time has not come yet, which a server counts once
-- and remembers until `changes` moves or the first of them is due.
-- `changes` moves with every change that touches a published post (its
-- status, deletion or time), on whichever instance made it. Triggers
-- rather than application code, so that every writer (the API,
-- `tollgate import`, an operator's SQL) keeps both true.
CREATE TABLE post_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    published BIGINT NOT NULL,
    changes BIGINT NOT NULL
);
INSERT INTO post_totals (id, published, changes)
    SELECT 1, COUNT(*), 0 FROM posts WHERE status = 'published' AND deleted_at IS NULL;

CREATE TRIGGER post_totals_insert AFTER INSERT ON posts
    WHEN NEW.status = 'published' AND NEW.deleted_at IS NULL
BEGIN
    UPDATE post_totals SET published = published + 1, changes = changes + 1 WHERE id = 1;
END;

CREATE TRIGGER post_totals_delete AFTER DELETE ON posts
    WHEN OLD.status = 'published' AND OLD.deleted_at IS NULL
BEGIN
    UPDATE post_totals SET published = published - 1, changes = changes + 1 WHERE id = 1;
END;

CREATE TRIGGER post_totals_update AFTER UPDATE OF status, deleted_at, published_at ON posts
    WHEN (OLD.status = 'published' AND OLD.deleted_at IS NULL)
      OR (NEW.status = 'published' AND NEW.deleted_at IS NULL)
BEGIN
    UPDATE post_totals
    SET published = published + (NEW.status = 'published' AND NEW.deleted_at IS NULL)
                              - (OLD.status = 'published' AND OLD.deleted_at IS NULL),
        changes = changes + 1
    WHERE id = 1;
END;

-- Start-up renders the posts stored before rendering existed (`html` NULL):
-- this finds them, or that there are none, without reading every post.
CREATE INDEX posts_unrendered ON posts (id) WHERE html IS NULL;
