-- A series' due ticks; many workers may race, the unique (series_id, fire_time) lets one row win.
WITH inserted AS (
    INSERT INTO {schema}.tasks
        (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, meta, series_id, fire_time, cancellable, headers)
    SELECT v.id, s.type, s.payload, s.queue, s.priority, to_timestamp(v.fire), s.max_attempts, s.timeout,
           s.retry_delay, s.meta, s.id, to_timestamp(v.fire), s.cancellable, s.headers
    FROM {schema}.schedules AS s, unnest(%(ids)s::uuid[], %(fires)s::float8[]) AS v(id, fire)
    WHERE s.id = %(schedule_id)s::uuid
    ON CONFLICT (series_id, fire_time) WHERE series_id IS NOT NULL DO NOTHING
    RETURNING id, queue, run_at
), woken AS (
    SELECT pg_notify({channel}, json_build_object('queue', queue, 'run_at', extract(epoch FROM min(run_at)))::text)
    FROM inserted GROUP BY queue
)
SELECT id FROM inserted WHERE (SELECT count(*) FROM woken) >= 0
