-- Listing the history page by page (the dashboard, app.page): newest first by id, filtered.
-- Finished tasks by status (queued and running ones are few and new, found from the primary
-- key or their own indexes; leaving them out spares the insert and the claim an index write);
-- by type, then status, for every status (a type filter alone must not read other types);
-- and the tasks that have an error, which an error search reads instead of the whole history.
-- On a large existing table, create these beforehand with CREATE INDEX CONCURRENTLY (same
-- names and definitions): this migration then skips them instead of blocking writes meanwhile.
CREATE INDEX IF NOT EXISTS tasks_finished_list_idx ON {schema}.tasks (status, id) WHERE status IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX IF NOT EXISTS tasks_type_list_idx ON {schema}.tasks (type, status, id);
CREATE INDEX IF NOT EXISTS tasks_error_list_idx ON {schema}.tasks (id) WHERE last_error IS NOT NULL;
