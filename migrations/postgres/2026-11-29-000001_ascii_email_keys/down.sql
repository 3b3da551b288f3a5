-- The keys Unicode's case rules made cannot be made again in SQL (SQLite
-- has no Unicode lower-casing): the ASCII keys stay.
SELECT 1;
