-- Complimentary premium: a grant kept apart from the stored plan (which
-- subscription events, `set-plan` and an admin's `plan` set). A user is
-- premium while the plan is, or while this time is in the future; the grant
-- lapses by itself, read with the session on every request, with nothing
-- run at that moment. Subscription events never touch it.
ALTER TABLE users ADD COLUMN premium_until BIGINT;
