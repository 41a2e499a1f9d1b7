t.id, t.type, t.payload, t.status, t.attempts, t.max_attempts, t.priority, t.queue, t.run_at, t.created_at,
t.started_at, t.finished_at, t.last_error, t.result, t.unique_key, t.meta, t.timeout, t.retry_delay,
t.worker_id, t.cancel_requested, t.series_id, t.fire_time, t.progress, t.pending_deps, t.errors, t.cancellable, t.headers
