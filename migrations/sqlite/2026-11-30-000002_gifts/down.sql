DROP TABLE gift_credits;
DROP TABLE gift_readers;
DROP TABLE gifts;
