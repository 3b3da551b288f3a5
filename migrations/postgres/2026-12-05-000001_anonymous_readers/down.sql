ALTER TABLE insight_days DROP COLUMN registration_walls;
ALTER TABLE insight_days DROP COLUMN anonymous_readers;
DROP TABLE registration_walls;
DROP TABLE anonymous_merges;
DROP TABLE anonymous_readers;
DROP TABLE anonymous_unlocks;
