-- Running tasks whose worker stopped heartbeating: run again (the lost attempt
-- counts) or fail once attempts are used up.
UPDATE tasks
SET status = CASE WHEN cancel_requested THEN 'cancelled'
                  WHEN attempts >= max_attempts THEN 'failed'
                  ELSE 'queued' END,
    last_error = 'WorkerLost: worker ' || coalesce(worker_id, '?')
                 || ' stopped heartbeating during attempt ' || attempts,
    errors = (SELECT json_group_array(json(value)) FROM (SELECT key, value FROM (
                  SELECT key, value FROM json_each(json_insert(errors, '$[#]', json_object(
                      'attempt', attempts, 'at', :now,
                      'error', 'WorkerLost: worker ' || coalesce(worker_id, '?') || ' stopped heartbeating')))
                  ORDER BY key DESC LIMIT 20) ORDER BY key)),
    finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN :now END,
    run_at = :now,
    worker_id = NULL,
    claim_token = NULL
WHERE status = 'running'
  AND NOT EXISTS (
      SELECT 1 FROM workers AS w
      WHERE w.id = tasks.worker_id AND w.last_seen > :now - :lease
  )
RETURNING id, queue, type, status
