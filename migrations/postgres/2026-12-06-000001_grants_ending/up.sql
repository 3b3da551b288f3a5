-- The members whose complimentary premium is still stored: a grant that has
-- run out is found here by the purge, which reports it to webhooks and
-- clears it (`accounts::members::end_lapsed_grants`).
CREATE INDEX users_grants ON users (premium_until) WHERE premium_until IS NOT NULL;
