ALTER TABLE provider_flows DROP COLUMN session_id;
