-- retry_task.sql for a batch of ids. Of several in the batch holding one unique key, only
-- the newest is queued again (the key admits one live task); none while another live task holds it.
UPDATE {schema}.tasks AS t
SET status = 'queued', run_at = now(), finished_at = NULL, cancel_requested = false, pending_deps = 0,
    max_attempts = greatest(t.max_attempts, t.attempts + 1)
WHERE t.id = ANY(%(ids)s::uuid[]) AND t.status IN {can_retry}
  AND (t.unique_key IS NULL OR (
      NOT EXISTS (SELECT 1 FROM {schema}.tasks AS o WHERE o.unique_key = t.unique_key AND o.status IN {live})
      AND t.id = (SELECT o.id FROM {schema}.tasks AS o
                  WHERE o.id = ANY(%(ids)s::uuid[]) AND o.unique_key = t.unique_key AND o.status IN {can_retry}
                  ORDER BY o.id DESC LIMIT 1)))
RETURNING t.id::text AS id, t.status, t.queue
