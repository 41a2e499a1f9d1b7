t.id::text AS id, t.type, t.payload::text AS payload, t.status, t.attempts, t.max_attempts, t.priority, t.queue, t.run_at,
t.created_at, t.started_at, t.finished_at, t.last_error, t.result::text AS result, t.unique_key, t.meta::text AS meta,
t.timeout, t.retry_delay, t.worker_id::text AS worker_id, t.cancel_requested, t.series_id::text AS series_id,
t.fire_time, t.progress::text AS progress, t.pending_deps, t.errors::text AS errors, t.cancellable, t.headers::text AS headers
