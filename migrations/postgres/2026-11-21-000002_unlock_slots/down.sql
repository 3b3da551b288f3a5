DROP INDEX unlocks_one_per_slot;
ALTER TABLE unlocks DROP COLUMN slot;
