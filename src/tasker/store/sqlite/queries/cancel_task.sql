-- A queued task ends cancelled now; a running one is flagged for its worker.
UPDATE tasks
SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
    finished_at = CASE WHEN status = 'queued' THEN :now ELSE finished_at END,
    cancel_requested = 1
WHERE id = :id AND status IN {can_cancel}
RETURNING status
