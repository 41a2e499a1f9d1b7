-- Running tasks whose worker stopped heartbeating: run again (the lost attempt
-- counts) or fail once attempts are used up.
UPDATE tasks
SET status = CASE WHEN cancel_requested THEN 'cancelled'
                  WHEN attempts >= max_attempts THEN 'failed'
                  ELSE 'queued' END,
    last_error = 'WorkerLost: worker ' || coalesce(worker_id, '?')
                 || ' stopped heartbeating during attempt ' || attempts,
    finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN :now END,
    run_at = :now,
    worker_id = NULL,
    claim_token = NULL
WHERE status = 'running'
  AND NOT EXISTS (
      SELECT 1 FROM workers AS w
      WHERE w.id = tasks.worker_id AND w.last_seen > :now - :lease
  )
RETURNING id
