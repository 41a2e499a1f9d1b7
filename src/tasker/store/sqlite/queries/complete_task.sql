-- Fenced: a row changes only while it is still running under the same claim.
UPDATE tasks
SET status = CASE WHEN :status = 'queued' AND cancel_requested THEN 'cancelled' ELSE :status END,
    result = :result,
    progress = coalesce(:progress, progress),
    last_error = coalesce(:error, last_error),
    attempts = attempts - :refund,
    run_at = CASE WHEN :status = 'queued' THEN :now + :retry_in ELSE run_at END,
    finished_at = CASE WHEN :status = 'queued' AND NOT cancel_requested THEN NULL ELSE :now END,
    worker_id = NULL,
    claim_token = NULL
WHERE id = :id AND claim_token = :token AND status = 'running'
RETURNING id
