-- A series' due ticks ([id, fire time] pairs); many workers may race, the unique
-- (series_id, fire_time) lets one row win.
INSERT INTO tasks
    (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, meta, series_id, fire_time, created_at,
     cancellable, headers)
SELECT json_extract(tick.value, '$[0]'), s.type, s.payload, s.queue, s.priority, json_extract(tick.value, '$[1]'),
       s.max_attempts, s.timeout, s.retry_delay, s.meta, s.id, json_extract(tick.value, '$[1]'), :now, s.cancellable, s.headers
FROM schedules AS s, json_each(:ticks) AS tick
WHERE s.id = :schedule_id
ON CONFLICT DO NOTHING
