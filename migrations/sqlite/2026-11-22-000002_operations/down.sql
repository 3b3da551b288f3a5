DROP TABLE paywall_notices;
DROP TABLE ip_limits;
DROP TABLE events;
ALTER TABLE sessions DROP COLUMN ip;
