-- Listing the history page by page (the dashboard, app.page): newest first by id, filtered.
-- By status (a queued backlog or the failed ones among millions); by type, then status (a
-- type alone is read from it too when rare, else from the primary key); and the tasks that
-- have an error, which an error search reads instead of the whole history. They cost the
-- write path about a tenth more index work (benchmarks/list_pages.py shows what they buy).
-- On a large existing table, create them beforehand with CREATE INDEX CONCURRENTLY (same
-- names and definitions): this migration then skips them instead of blocking writes meanwhile.
CREATE INDEX IF NOT EXISTS tasks_status_list_idx ON {schema}.tasks (status, id);
CREATE INDEX IF NOT EXISTS tasks_type_list_idx ON {schema}.tasks (type, status, id);
CREATE INDEX IF NOT EXISTS tasks_error_list_idx ON {schema}.tasks (id) WHERE last_error IS NOT NULL;
