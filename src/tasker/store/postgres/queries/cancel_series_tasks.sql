-- Runs not started yet are future runs of a cancelled series; a running one finishes.
UPDATE {schema}.tasks
SET status = 'cancelled', finished_at = now(), cancel_requested = true,
    last_error = 'Cancelled: its series was cancelled'
WHERE series_id = %(id)s::uuid AND status = 'queued'
