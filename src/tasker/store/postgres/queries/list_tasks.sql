SELECT id::text, type, payload, status, attempts, max_attempts, priority, queue, run_at, created_at,
       started_at, finished_at, last_error, result, unique_key, meta, timeout, retry_delay,
       worker_id::text, cancel_requested, series_id::text, fire_time, progress, pending_deps, errors
FROM {schema}.tasks
WHERE (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(type)s::text IS NULL OR type = %(type)s::text)
  AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
