INSERT INTO tasks
    (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, unique_key, meta, created_at, cancellable, headers, partition_key,
     concurrency_limit, rate_count, rate_period)
VALUES
    (:id, :type, :payload, :queue, :priority, coalesce(:run_at, :now + :delay), :max_attempts, :timeout,
     :retry_delay, :unique_key, :meta, :now, :cancellable, :headers, :partition_key,
     :concurrency_limit, :rate_count, :rate_period)
ON CONFLICT DO NOTHING
