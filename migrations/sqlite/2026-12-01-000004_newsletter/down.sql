ALTER TABLE users DROP COLUMN newsletter;
