SELECT id, type, payload, status, attempts, max_attempts, priority, queue, run_at, created_at,
       started_at, finished_at, last_error, result, unique_key, meta, timeout, retry_delay,
       worker_id, cancel_requested, series_id, fire_time, progress, pending_deps, errors, cancellable, headers
FROM tasks
WHERE (:status IS NULL OR status = :status)
  AND (:type IS NULL OR type = :type)
  AND (:queue IS NULL OR queue = :queue)
ORDER BY created_at DESC, id DESC
LIMIT :limit
