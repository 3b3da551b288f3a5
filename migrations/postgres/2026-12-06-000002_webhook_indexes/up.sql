-- What the deliverer and the purge read, each an index range of the few
-- rows it wants however many deliveries wait: each webhook's next due
-- deliveries, in the order they are claimed; the attempts under way, by
-- when their leases end; and the messages of changes made a month ago, by
-- when the change happened.
CREATE INDEX webhook_deliveries_ready ON webhook_deliveries (webhook_id, status, next_attempt_at, id);
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until);
CREATE INDEX webhook_events_at ON webhook_events (at);
