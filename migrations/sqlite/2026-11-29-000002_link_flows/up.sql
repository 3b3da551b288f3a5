-- Linking a provider to an account is a sensitive change, asked for by a
-- signed-in session that proved its owner (`POST /account/identities`):
-- the flow it starts remembers that session, and its callback links only
-- for the browser still holding it.
ALTER TABLE provider_flows ADD COLUMN session_id TEXT;
