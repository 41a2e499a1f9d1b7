-- Given tasks, due or not (the testing helpers' drain and inline modes): queued, not
-- waiting on dependencies, whatever their run_at and queue; claimed as claim_tasks does.
UPDATE tasks
SET status = 'running',
    attempts = attempts + 1,
    started_at = :now,
    worker_id = :worker_id,
    claim_token = lower(hex(randomblob(16)))
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'queued' AND pending_deps = 0
RETURNING id, claim_token, type, payload, attempts, max_attempts, timeout, retry_delay, queue, priority, meta,
          headers, series_id, run_at
