-- An account's address is a bare address: no display name, comment or list.
-- One stored with them (`Victim<attacker@evil.example>`) had its mail sent to
-- the address inside, so whether it was verified says nothing of the stored
-- text. Such addresses are removed, not rewritten (the address inside is the
-- one nobody can vouch for): the account keeps everything else, its address
-- is unset and unverified, and its owner can set one again. A display name,
-- comment, list or group needs one of these characters; a bare address never
-- has one.
UPDATE users
SET email = NULL, email_key = NULL, email_verified = FALSE
WHERE email GLOB '*[<>(),;:]*';
