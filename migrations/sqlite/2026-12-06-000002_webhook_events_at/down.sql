DROP INDEX webhook_events_at;
