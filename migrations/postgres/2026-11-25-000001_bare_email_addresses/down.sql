-- Removed addresses cannot be restored.
SELECT 1;
