-- Run a failed or cancelled task again: one more attempt than it has used,
-- regardless of dependencies (retrying is the operator's decision), unless
-- another live task now holds its unique key.
UPDATE {schema}.tasks AS t
SET status = 'queued', run_at = now(), finished_at = NULL, cancel_requested = false, pending_deps = 0,
    max_attempts = greatest(t.max_attempts, t.attempts + 1)
WHERE t.id = %(id)s::uuid AND t.status IN {can_retry}
  AND (t.unique_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM {schema}.tasks AS o
      WHERE o.unique_key = t.unique_key AND o.status IN {live}))
RETURNING t.queue
