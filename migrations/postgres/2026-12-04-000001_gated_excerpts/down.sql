ALTER TABLE posts DROP COLUMN excerpt_pending;
