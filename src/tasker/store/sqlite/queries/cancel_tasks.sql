-- cancel_task.sql for a batch of ids (a JSON array); a running task already asked to stop is left alone.
UPDATE tasks
SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
    finished_at = CASE WHEN status = 'queued' THEN :now ELSE finished_at END,
    cancel_requested = 1
WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN {can_cancel} AND NOT cancel_requested
  AND (status = 'queued' OR cancellable)
RETURNING id, status, queue
