-- Publishing: roles on users, and posts that authors write, schedule and
-- price. A post is never removed from the table: unlocks spent on it stay
-- spent (a month's `used` never goes down), so deleting one sets
-- `deleted_at`, and its slug becomes free for another post.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'reader'
    CHECK (role IN ('reader', 'author', 'admin'));
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN last_login_at BIGINT;

-- `status` is what the author chose; whether a published post is visible
-- yet is `published_at <= now`, asked at read time, so a scheduled post
-- appears on every instance at its time with nothing to run. A draft's
-- `published_at` means nothing (clients see null). `html` is rendered and
-- sanitized when the post is saved, never on read; NULL only on posts
-- stored before rendering existed, which start-up renders before serving.
-- `updated_at` is in microseconds: two saves within a second still differ,
-- which the edit-conflict check relies on.
ALTER TABLE posts ADD COLUMN slug TEXT NOT NULL DEFAULT '';
ALTER TABLE posts ADD COLUMN html TEXT;
ALTER TABLE posts ADD COLUMN excerpt TEXT NOT NULL DEFAULT '';
ALTER TABLE posts ADD COLUMN excerpt_given BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE posts ADD COLUMN access TEXT NOT NULL DEFAULT 'metered'
    CHECK (access IN ('free', 'metered', 'premium'));
ALTER TABLE posts ADD COLUMN status TEXT NOT NULL DEFAULT 'published'
    CHECK (status IN ('draft', 'published'));
ALTER TABLE posts ADD COLUMN author_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE posts ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN deleted_at BIGINT;
UPDATE posts SET slug = 'post-' || id, created_at = published_at,
                 updated_at = published_at * 1000000;

-- Readers' listing: only what can be visible, newest first.
DROP INDEX posts_newest_first;
CREATE INDEX posts_for_readers ON posts (published_at DESC, id DESC)
    WHERE status = 'published' AND deleted_at IS NULL;
CREATE UNIQUE INDEX posts_slug ON posts (slug) WHERE deleted_at IS NULL;
-- An author's own posts, most recently updated first.
CREATE INDEX posts_by_author ON posts (author_id, updated_at DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX posts_by_update ON posts (updated_at DESC) WHERE deleted_at IS NULL;
