-- One task (the common create call): scalar parameters cost the client far less than arrays.
-- A held unique key skips the row; an inserted row wakes workers on commit.
WITH inserted AS (
    INSERT INTO {schema}.tasks
        (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, unique_key, meta, cancellable, headers, partition_key,
         concurrency_limit, rate_count, rate_period)
    VALUES (%(id)s::uuid, %(type)s::text, %(payload_json)s::jsonb, %(queue)s::text, %(priority)s::integer,
            coalesce(to_timestamp(%(run_at)s::float8), now() + make_interval(secs => %(delay)s::float8)),
            %(max_attempts)s::integer, %(timeout)s::float8, %(retry_delay)s::float8, %(unique_key)s::text,
            %(meta_json)s::jsonb, %(cancellable)s::boolean, %(headers_json)s::jsonb,
            %(partition_key)s::text, %(concurrency_limit)s::integer, %(rate_count)s::integer, %(rate_period)s::float8)
    ON CONFLICT DO NOTHING  -- a held unique key, or this very row from an earlier try
    RETURNING id, queue, run_at
), woken AS (
    SELECT pg_notify({channel}, json_build_object('queue', queue, 'run_at', extract(epoch FROM run_at))::text)
    FROM inserted
)
SELECT id::text FROM inserted WHERE (SELECT count(*) FROM woken) >= 0
