DROP TABLE login_throttle;
DROP TABLE unlocks;
DROP TABLE posts;
DROP TABLE sessions;
DROP TABLE users;
