-- One run of an active series now, beside its ticks (an operator's "run now"): made like its
-- ticks' tasks, due now, its fire time now, so it is listed among the series' runs.
WITH inserted AS (
    INSERT INTO {schema}.tasks
        (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, meta, series_id, fire_time, cancellable, headers)
    SELECT %(id)s::uuid, s.type, s.payload, s.queue, s.priority, now(), s.max_attempts, s.timeout,
           s.retry_delay, s.meta, s.id, now(), s.cancellable, s.headers
    FROM {schema}.schedules AS s
    WHERE s.id = %(schedule_id)s::uuid AND s.status = 'active'
    ON CONFLICT (series_id, fire_time) WHERE series_id IS NOT NULL DO NOTHING
    RETURNING id, queue
), woken AS (
    SELECT pg_notify({channel}, json_build_object('queue', queue)::text) FROM inserted
)
SELECT id::text AS id FROM inserted WHERE (SELECT count(*) FROM woken) >= 0
