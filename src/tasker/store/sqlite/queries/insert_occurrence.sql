INSERT INTO tasks
    (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, meta, series_id, fire_time, created_at)
SELECT :id, s.type, s.payload, s.queue, s.priority, :fire, s.max_attempts, s.timeout,
       s.retry_delay, s.meta, s.id, :fire, :now
FROM schedules AS s
WHERE s.id = :schedule_id
ON CONFLICT DO NOTHING
