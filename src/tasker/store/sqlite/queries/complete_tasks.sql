-- Fenced: a row changes only while it is still running under the same claim.
UPDATE tasks
SET status = CASE WHEN :status = 'queued' AND cancel_requested THEN 'cancelled' ELSE :status END,
    result = :result,
    progress = coalesce(:progress, progress),
    headers = coalesce(:headers, headers),
    last_error = coalesce(:error, last_error),
    errors = CASE WHEN :error IS NULL OR :status = 'succeeded' THEN errors
                  ELSE (SELECT json_group_array(json(value)) FROM (SELECT key, value FROM (
                           SELECT key, value FROM json_each(json_insert(errors, '$[#]', json_object(
                               'attempt', attempts, 'at', :now, 'error', :error)))
                           ORDER BY key DESC LIMIT 20) ORDER BY key)) END,
    attempts = attempts - :refund,
    -- The handler's own start, not the claim: a claimed task may wait for a slot.
    started_at = CASE WHEN :duration IS NULL THEN started_at ELSE :now - :duration END,
    run_at = CASE WHEN :status = 'queued' THEN :now + :retry_in ELSE run_at END,
    finished_at = CASE WHEN :status = 'queued' AND NOT cancel_requested THEN NULL ELSE :now END,
    worker_id = NULL,
    claim_token = NULL
WHERE id = :id AND claim_token = :token AND status = 'running'
RETURNING id, queue, type, status
