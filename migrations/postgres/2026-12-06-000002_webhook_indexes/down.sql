DROP INDEX webhook_events_at;
DROP INDEX webhook_deliveries_leased;
DROP INDEX webhook_deliveries_ready;
