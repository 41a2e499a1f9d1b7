COPY {schema}.tasks (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, meta, cancellable, headers, partition_key, concurrency_limit, rate_count, rate_period) FROM STDIN
