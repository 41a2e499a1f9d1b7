COPY {schema}.tasks (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, meta, cancellable, headers) FROM STDIN
