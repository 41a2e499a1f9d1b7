-- A new task waits for its unfinished dependencies, or is cancelled at once
-- when one has already failed or been cancelled.
UPDATE tasks
SET pending_deps = :pending,
    status = CASE WHEN :reason IS NULL THEN status ELSE 'cancelled' END,
    finished_at = CASE WHEN :reason IS NULL THEN finished_at ELSE :now END,
    last_error = :reason
WHERE id = :task_id
