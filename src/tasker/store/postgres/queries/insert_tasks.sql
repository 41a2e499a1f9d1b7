-- Tasks in one statement, from parallel arrays; a held unique key skips the row.
-- The inserted rows wake workers (one notification per queue, sent on commit).
WITH inserted AS (
    INSERT INTO {schema}.tasks
        (id, type, payload, queue, priority, run_at, max_attempts, timeout, retry_delay, unique_key, meta, cancellable, headers, partition_key,
         concurrency_limit, rate_count, rate_period)
    SELECT v.id, v.type, v.payload::jsonb, v.queue, v.priority,
           coalesce(to_timestamp(v.run_at), now() + make_interval(secs => v.delay)),
           v.max_attempts, v.timeout, v.retry_delay, v.unique_key, v.meta::jsonb, v.cancellable, v.headers::jsonb, v.partition_key,
           v.concurrency_limit, v.rate_count, v.rate_period
    FROM unnest(
        %(ids)s::uuid[], %(types)s::text[], %(payloads)s::text[], %(queues)s::text[],
        %(priorities)s::integer[], %(run_ats)s::float8[], %(delays)s::float8[],
        %(max_attempts)s::integer[], %(timeouts)s::float8[], %(retry_delays)s::float8[],
        %(unique_keys)s::text[], %(metas)s::text[], %(cancellables)s::boolean[], %(headers)s::text[],
        %(partition_keys)s::text[], %(concurrency_limits)s::integer[], %(rate_counts)s::integer[], %(rate_periods)s::float8[]
    ) AS v(id, type, payload, queue, priority, run_at, delay, max_attempts, timeout, retry_delay, unique_key, meta, cancellable, headers, partition_key,
           concurrency_limit, rate_count, rate_period)
    ON CONFLICT DO NOTHING  -- a held unique key, or this very row from an earlier try
    RETURNING id, queue, run_at
), woken AS (
    SELECT pg_notify({channel}, json_build_object('queue', queue, 'run_at', extract(epoch FROM min(run_at)))::text)
    FROM inserted GROUP BY queue
)
SELECT id::text FROM inserted WHERE (SELECT count(*) FROM woken) >= 0
