-- The purge finds the webhook messages of changes made a month ago by
-- when the change happened, without reading every message.
CREATE INDEX webhook_events_at ON webhook_events (at);
