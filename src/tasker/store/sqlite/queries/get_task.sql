SELECT id, type, payload, status, attempts, max_attempts, priority, queue, run_at, created_at,
       started_at, finished_at, last_error, result, unique_key, meta, timeout, retry_delay,
       worker_id, cancel_requested, series_id, fire_time, progress, pending_deps, errors, cancellable, headers
FROM tasks
WHERE id = :id
