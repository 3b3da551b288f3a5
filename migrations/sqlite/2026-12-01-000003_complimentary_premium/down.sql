ALTER TABLE users DROP COLUMN premium_until;
