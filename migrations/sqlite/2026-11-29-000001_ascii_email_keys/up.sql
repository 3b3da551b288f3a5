-- An address is compared ignoring the case of its ASCII letters only
-- (`Email::key`, src/domain/email.rs). The keys stored before this
-- migration were lower-cased by Unicode's rules, which fold more: the
-- Kelvin sign `K` (U+212A) became `k`, so `Kate@example.com` written with
-- it had the key of `kate@example.com`, and a provider vouching for it
-- signed in to the account holding that address verified. Every stored key
-- is made again from the address it stands for, as typed, by the ASCII rule.
--
-- Keys only split apart, never come together. Two addresses with one key
-- by the ASCII rule differ only in the case of ASCII letters, which
-- Unicode's rules fold alike, so they had one key before too. An address
-- written with a letter that Unicode's rules fold and the ASCII rule does
-- not (`K`, `İ`, `É`) gets a key of its own, apart from its look-alikes;
-- every other key stays as it was. Each account keeps its address as typed
-- and whether it is verified, and the partial unique index (at most one
-- account holds a key verified) still holds: of the accounts that shared a
-- key at most one was verified, and accounts whose keys differed never
-- share one now. It holds row by row as well, as PostgreSQL checks it
-- during the UPDATE: lower-casing by Unicode's rules a second time changes
-- nothing, so a verified row whose old key is another row's new key had
-- that row's old key too, which the index never allowed. What the rows
-- cannot tell: an account that verified its address and then retyped it
-- as a look-alike the Unicode rule took for the same address (the only
-- retyping `POST /email` did without a new link) keeps the verified mark
-- on the spelling it holds now.
--
-- An emailed link's token holds the key of the address it was sent to:
-- the links of the address an account holds take its new key and keep
-- working (a link of an address the account no longer holds is dead
-- either way). A forgot-password request not yet acted on, and the
-- outbox's rows that the per-address limit counts, take the key of the
-- address they hold as typed.
--
-- SQLite's lower() folds A-Z and nothing else unless SQLite is built with
-- ICU, and the SQLite tollgate links (libsqlite3-sys's bundled build) is
-- not: lower() here is the ASCII rule exactly.
UPDATE email_tokens
SET email_key = (SELECT lower(users.email) FROM users WHERE users.id = email_tokens.user_id)
WHERE email_key = (SELECT users.email_key FROM users WHERE users.id = email_tokens.user_id);

UPDATE users SET email_key = lower(email) WHERE email_key <> lower(email);

UPDATE forgot_requests SET email_key = lower(email) WHERE email_key <> lower(email);

UPDATE outbox SET recipient_key = lower(recipient) WHERE recipient_key <> lower(recipient);
