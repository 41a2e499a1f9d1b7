INSERT INTO tasks
    (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, unique_key, meta, created_at, cancellable)
VALUES
    (:id, :type, :payload, :queue, :priority, coalesce(:run_at, :now + :delay), :max_attempts, :timeout,
     :retry_delay, :unique_key, :meta, :now, :cancellable)
ON CONFLICT DO NOTHING
