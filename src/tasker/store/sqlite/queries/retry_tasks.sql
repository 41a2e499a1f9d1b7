-- retry_task.sql for a batch of ids (a JSON array). Of several in the batch holding one unique
-- key, only the newest is queued again; none while another live task holds it.
UPDATE tasks
SET status = 'queued', run_at = :now, finished_at = NULL, cancel_requested = 0, pending_deps = 0,
    max_attempts = max(max_attempts, attempts + 1)
WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN {can_retry}
  AND (unique_key IS NULL OR (
      NOT EXISTS (SELECT 1 FROM tasks AS o WHERE o.unique_key = tasks.unique_key AND o.status IN {live})
      AND id = (SELECT o.id FROM tasks AS o
                WHERE o.id IN (SELECT value FROM json_each(:ids)) AND o.unique_key = tasks.unique_key
                  AND o.status IN {can_retry}
                ORDER BY o.id DESC LIMIT 1)))
RETURNING id, status, queue
