-- Debounce (on_conflict='replace'): the queued holder of the unique key takes the new payload
-- and run_at and keeps its id. A holder already running is left alone (release_unique_key).
WITH replaced AS (
    UPDATE {schema}.tasks
    SET payload = %(payload_json)s::jsonb,
        run_at = coalesce(to_timestamp(%(run_at)s::float8), now() + make_interval(secs => %(delay)s::float8))
    WHERE unique_key = %(unique_key)s::text AND status = 'queued'
    RETURNING id, queue, run_at
), woken AS (
    SELECT pg_notify({channel}, json_build_object('queue', queue, 'run_at', extract(epoch FROM run_at))::text)
    FROM replaced
)
SELECT id::text FROM replaced WHERE (SELECT count(*) FROM woken) >= 0
