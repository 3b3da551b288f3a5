DROP INDEX posts_unrendered;
DROP TRIGGER post_totals_delete ON posts;
DROP TRIGGER post_totals_update ON posts;
DROP TRIGGER post_totals_insert ON posts;
DROP FUNCTION post_totals_count();
DROP TABLE post_totals;
