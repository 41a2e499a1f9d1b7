-- cancel_task.sql for a batch of ids; a running task already asked to stop is left alone.
UPDATE {schema}.tasks
SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
    finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,
    cancel_requested = true
WHERE id = ANY(%(ids)s::uuid[]) AND status IN {can_cancel} AND NOT cancel_requested AND (status = 'queued' OR cancellable)
RETURNING id::text AS id, status, queue
