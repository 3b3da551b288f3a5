-- How many posts are published and live, kept by triggers in the same
-- transaction as every change to a post, so that `/blog`'s `total` costs
-- the same with 100,000 posts as with 12: total = this count minus the
-- published posts whose time has not come yet (a short range of the
-- readers' index). Triggers rather than application code, so that every
-- writer (the API, `tollgate import`, an operator's SQL) keeps it true.
CREATE TABLE post_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    published BIGINT NOT NULL
);
INSERT INTO post_totals (id, published)
    SELECT 1, COUNT(*) FROM posts WHERE status = 'published' AND deleted_at IS NULL;

CREATE TRIGGER post_totals_insert AFTER INSERT ON posts
    WHEN NEW.status = 'published' AND NEW.deleted_at IS NULL
BEGIN
    UPDATE post_totals SET published = published + 1 WHERE id = 1;
END;

CREATE TRIGGER post_totals_delete AFTER DELETE ON posts
    WHEN OLD.status = 'published' AND OLD.deleted_at IS NULL
BEGIN
    UPDATE post_totals SET published = published - 1 WHERE id = 1;
END;

CREATE TRIGGER post_totals_update AFTER UPDATE OF status, deleted_at ON posts
    WHEN (NEW.status = 'published' AND NEW.deleted_at IS NULL)
      <> (OLD.status = 'published' AND OLD.deleted_at IS NULL)
BEGIN
    UPDATE post_totals
    SET published = published + (CASE WHEN NEW.status = 'published' AND NEW.deleted_at IS NULL
                                      THEN 1 ELSE -1 END)
    WHERE id = 1;
END;
