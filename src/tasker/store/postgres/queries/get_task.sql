SELECT id::text, type, payload, status, attempts, max_attempts, priority, queue, run_at, created_at,
       started_at, finished_at, last_error, result, unique_key, meta, timeout, retry_delay,
       worker_id::text, cancel_requested, series_id::text, fire_time, progress, pending_deps, errors
FROM {schema}.tasks
WHERE id = %(id)s::uuid
