-- Runs not started yet are future runs of a cancelled series; a running one finishes.
UPDATE tasks
SET status = 'cancelled', finished_at = :now, cancel_requested = 1,
    last_error = 'Cancelled: its series was cancelled'
WHERE series_id = :id AND status = 'queued'
