DROP TABLE outbox;
DROP TABLE email_tokens;
DROP INDEX users_email_key;
DROP INDEX users_verified_email;
ALTER TABLE users DROP COLUMN email_verified;
ALTER TABLE users DROP COLUMN email_key;
ALTER TABLE users DROP COLUMN email;
