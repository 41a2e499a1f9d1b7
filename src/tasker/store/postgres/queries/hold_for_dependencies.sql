-- A new task waits for its unfinished dependencies, or is cancelled at once
-- when one has already failed or been cancelled.
UPDATE {schema}.tasks
SET pending_deps = %(pending)s,
    status = CASE WHEN %(reason)s::text IS NULL THEN status ELSE 'cancelled' END,
    finished_at = CASE WHEN %(reason)s::text IS NULL THEN finished_at ELSE now() END,
    last_error = %(reason)s::text
WHERE id = %(task_id)s::uuid
