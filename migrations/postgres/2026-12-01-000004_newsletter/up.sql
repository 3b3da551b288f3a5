-- Whether the account takes the newsletter (posts by email), chosen at
-- registration or on the account page; off unless asked for.
ALTER TABLE users ADD COLUMN newsletter BOOLEAN NOT NULL DEFAULT FALSE;
