DROP INDEX users_grants;
