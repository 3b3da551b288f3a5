-- A metered or premium post's derived excerpt holds at most the first
-- half of its text. The posts whose excerpt was derived by the earlier
-- rule are marked here and derived again at start-up, in Rust (what SQL
-- cannot do), before the server answers anyone.
ALTER TABLE posts ADD COLUMN excerpt_pending BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE posts SET excerpt_pending = TRUE WHERE NOT excerpt_given AND access <> 'free';
