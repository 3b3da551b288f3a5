DROP TABLE revenue_days;
DROP TABLE plan_moves;
DROP TABLE paywall_hits;
DROP TABLE day_readers;
DROP TABLE post_readers;
DROP TABLE post_tallies;
DROP TABLE insight_days;
ALTER TABLE gift_readers DROP COLUMN last_opened_at;
ALTER TABLE gift_readers DROP COLUMN last_day;
