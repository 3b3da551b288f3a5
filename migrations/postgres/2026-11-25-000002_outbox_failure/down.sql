ALTER TABLE outbox DROP COLUMN failure;
