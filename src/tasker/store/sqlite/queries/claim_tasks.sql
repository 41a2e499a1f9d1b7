UPDATE tasks
SET status = 'running',
    attempts = attempts + 1,
    started_at = :now,
    worker_id = :worker_id,
    claim_token = lower(hex(randomblob(16)))
WHERE id IN (
    SELECT id FROM tasks
    WHERE status = 'queued'
      AND run_at <= :now
      AND type IN (SELECT value FROM json_each(:types))
      AND pending_deps = 0
      AND (:queues IS NULL OR queue IN (SELECT value FROM json_each(:queues)))
      AND queue NOT IN (SELECT name FROM queue_settings WHERE paused)
      -- Types and queues under flow limits are claimed by claim_limited_tasks alone.
      AND type NOT IN (SELECT name FROM flow_limits WHERE scope = 'type')
      AND queue NOT IN (SELECT name FROM flow_limits WHERE scope = 'queue')
      AND concurrency_limit IS NULL AND rate_count IS NULL   -- nor tasks with limits of their own
    ORDER BY priority DESC, run_at, id
    LIMIT :limit
)
RETURNING id, claim_token, type, payload, attempts, max_attempts, timeout, retry_delay, queue, priority, meta,
          headers, series_id, run_at
