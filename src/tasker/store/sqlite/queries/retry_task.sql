-- Run a failed or cancelled task again: one more attempt than it has used,
-- regardless of dependencies (retrying is the operator's decision), unless
-- another live task now holds its unique key.
UPDATE tasks
SET status = 'queued', run_at = :now, finished_at = NULL, cancel_requested = 0, pending_deps = 0,
    max_attempts = max(max_attempts, attempts + 1)
WHERE id = :id AND status IN {can_retry}
  AND (unique_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM tasks AS o
      WHERE o.unique_key = tasks.unique_key AND o.status IN {live}))
RETURNING queue
