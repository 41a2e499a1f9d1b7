-- A queued task ends cancelled now; a running one is flagged for its worker, unless its
-- handler must not be interrupted (cancellable=False): then nothing changes.
UPDATE {schema}.tasks
SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
    finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,
    cancel_requested = true
WHERE id = %(id)s::uuid AND status IN {can_cancel} AND (status = 'queued' OR cancellable)
RETURNING status
