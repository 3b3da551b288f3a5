DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
DROP INDEX users_by_passkey_handle;
ALTER TABLE users DROP COLUMN passkey_handle;
