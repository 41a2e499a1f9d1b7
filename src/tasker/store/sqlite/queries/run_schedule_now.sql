-- One run of an active series now, beside its ticks (an operator's "run now"): made like its
-- ticks' tasks, due now, its fire time now, so it is listed among the series' runs.
INSERT INTO tasks
    (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, meta, series_id, fire_time, created_at,
     cancellable, headers)
SELECT :id, s.type, s.payload, s.queue, s.priority, :now, s.max_attempts, s.timeout, s.retry_delay, s.meta, s.id, :now, :now,
       s.cancellable, s.headers
FROM schedules AS s
WHERE s.id = :schedule_id AND s.status = 'active'
ON CONFLICT DO NOTHING
RETURNING id
