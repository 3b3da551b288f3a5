-- Each unlock takes the next numbered slot of its user's month, and a slot
-- can be taken once: on PostgreSQL this UNIQUE key is what lets one
-- statement count-and-insert without over-granting (two parallel unlocks
-- that both counted 4 both want slot 5; one of them loses). SQLite
-- serializes unlocks with its write lock and fills the slot the same way.
ALTER TABLE unlocks ADD COLUMN slot INTEGER;

UPDATE unlocks SET slot = (
    SELECT COUNT(*) FROM unlocks AS earlier
    WHERE earlier.user_id = unlocks.user_id
      AND earlier.month = unlocks.month
      AND (earlier.unlocked_at < unlocks.unlocked_at
           OR (earlier.unlocked_at = unlocks.unlocked_at AND earlier.post_id <= unlocks.post_id))
);

CREATE UNIQUE INDEX unlocks_one_per_slot ON unlocks (user_id, month, slot);
