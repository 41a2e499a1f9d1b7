SELECT id::text AS id, type, payload::text AS payload, status, attempts, max_attempts, priority, queue, run_at,
       created_at, started_at, finished_at, last_error, result::text AS result, unique_key, meta::text AS meta,
       timeout, retry_delay, worker_id::text AS worker_id, cancel_requested, series_id::text AS series_id,
       fire_time, progress::text AS progress, pending_deps, errors::text AS errors, cancellable, headers::text AS headers
FROM {schema}.tasks
WHERE id = %(id)s::uuid
