DROP INDEX posts_unrendered;
DROP TRIGGER post_totals_update;
DROP TRIGGER post_totals_delete;
DROP TRIGGER post_totals_insert;
DROP TABLE post_totals;
