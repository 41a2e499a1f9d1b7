-- The claim of tasks under flow limits (issue 17): those of a type or queue in flow_limits,
-- which claim_tasks leaves alone. The caller holds lock_flow in this transaction, so this
-- statement's snapshot holds every earlier limited claim: the counts cannot be raced.
--
-- Room per limited scope and partition key: its concurrency limit less its running tasks
-- (claimed-but-waiting ones count: they are 'running' here) and its rate less its starts in
-- the last period, whichever is smaller. Tasks take turns per key (round robin within a
-- priority), so a key with a long backlog does not starve one with a single task.
-- Times are the statement's (after the lock), not the transaction's: a start is stamped when it
-- happens, so the windows of successive claims line up.
WITH candidates AS (
    -- A task's own limits (create(..., concurrency_limit=, rate_limit=)) stand in for its type's.
    SELECT t.id, t.type, t.queue, coalesce(t.partition_key, '') AS key, t.priority, t.run_at,
           coalesce(t.concurrency_limit, tl.concurrency_limit) AS type_concurrency,
           CASE WHEN t.rate_count IS NOT NULL THEN t.rate_count ELSE tl.rate_count END AS type_rate,
           CASE WHEN t.rate_count IS NOT NULL THEN t.rate_period ELSE tl.rate_period END AS type_period,
           ql.name IS NOT NULL AS by_queue
    FROM {schema}.tasks AS t
    LEFT JOIN {schema}.flow_limits AS tl ON tl.scope = 'type' AND tl.name = t.type
    LEFT JOIN {schema}.flow_limits AS ql ON ql.scope = 'queue' AND ql.name = t.queue
    WHERE t.status = 'queued'
      AND t.run_at <= statement_timestamp()
      AND t.type = ANY(%(types)s::text[])
      AND t.pending_deps = 0
      AND (%(queues)s::text[] IS NULL OR t.queue = ANY(%(queues)s::text[]))
      AND t.queue NOT IN (SELECT name FROM {schema}.queue_settings WHERE paused)
      AND (tl.name IS NOT NULL OR ql.name IS NOT NULL OR t.concurrency_limit IS NOT NULL OR t.rate_count IS NOT NULL)
), type_running AS (
    SELECT g.type, g.key, (
        SELECT count(*) FROM {schema}.tasks AS r
        WHERE r.status = 'running' AND r.type = g.type AND coalesce(r.partition_key, '') = g.key) AS n
    FROM (SELECT DISTINCT type, key FROM candidates WHERE type_concurrency IS NOT NULL) AS g
), type_started AS (
    SELECT g.type, g.key, g.type_period, (
        SELECT count(*) FROM {schema}.flow_starts AS s
        WHERE s.scope = 'type' AND s.name = g.type AND s.partition_key = g.key
          AND s.at > statement_timestamp() - make_interval(secs => g.type_period)) AS n
    FROM (SELECT DISTINCT type, key, type_period FROM candidates WHERE type_rate IS NOT NULL) AS g
), queue_room AS (
    SELECT g.queue, g.key, least(
        coalesce(l.concurrency_limit - (
            SELECT count(*) FROM {schema}.tasks AS r
            WHERE r.status = 'running' AND r.queue = g.queue AND coalesce(r.partition_key, '') = g.key), 2147483647),
        coalesce(l.rate_count - (
            SELECT count(*) FROM {schema}.flow_starts AS s
            WHERE s.scope = 'queue' AND s.name = g.queue AND s.partition_key = g.key
              AND s.at > statement_timestamp() - make_interval(secs => l.rate_period)), 2147483647)) AS room
    FROM (SELECT DISTINCT queue, key FROM candidates WHERE by_queue) AS g
    JOIN {schema}.flow_limits AS l ON l.scope = 'queue' AND l.name = g.queue
), type_turns AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.type, c.key ORDER BY c.priority DESC, c.run_at, c.id) AS turn
    FROM candidates AS c
), within_type AS (
    SELECT tt.* FROM type_turns AS tt
    LEFT JOIN type_running AS ru ON ru.type = tt.type AND ru.key = tt.key
    LEFT JOIN type_started AS st ON st.type = tt.type AND st.key = tt.key AND st.type_period = tt.type_period
    WHERE (tt.type_concurrency IS NULL OR tt.turn <= tt.type_concurrency - ru.n)
      AND (tt.type_rate IS NULL OR tt.turn <= tt.type_rate - st.n)
), queue_turns AS (
    SELECT w.*, row_number() OVER (PARTITION BY w.queue, w.key ORDER BY w.priority DESC, w.turn, w.run_at, w.id) AS queue_turn
    FROM within_type AS w
), chosen AS (
    SELECT qt.id FROM queue_turns AS qt
    LEFT JOIN queue_room AS qr ON qr.queue = qt.queue AND qr.key = qt.key
    WHERE NOT qt.by_queue OR qt.queue_turn <= qr.room
    ORDER BY qt.priority DESC, greatest(qt.turn, qt.queue_turn), qt.run_at, qt.id
    LIMIT %(limit)s
), claimed AS (
    UPDATE {schema}.tasks AS t
    SET status = 'running',
        attempts = t.attempts + 1,
        started_at = statement_timestamp(),
        worker_id = %(worker_id)s::uuid,
        claim_token = gen_random_uuid()
    FROM chosen
    WHERE t.id = chosen.id AND t.status = 'queued'
    RETURNING t.*
), started AS (
    INSERT INTO {schema}.flow_starts (scope, name, partition_key, at)
    SELECT 'type', c.type, coalesce(c.partition_key, ''), statement_timestamp()
    FROM claimed AS c
    WHERE c.rate_count IS NOT NULL
       OR EXISTS (SELECT 1 FROM {schema}.flow_limits AS l WHERE l.scope = 'type' AND l.name = c.type AND l.rate_count IS NOT NULL)
    UNION ALL
    SELECT 'queue', c.queue, coalesce(c.partition_key, ''), statement_timestamp()
    FROM claimed AS c
    WHERE EXISTS (SELECT 1 FROM {schema}.flow_limits AS l WHERE l.scope = 'queue' AND l.name = c.queue AND l.rate_count IS NOT NULL)
)
SELECT c.id::text AS id, c.claim_token::text AS claim_token, c.type, c.payload::text AS payload,
       c.attempts, c.max_attempts, c.timeout, c.retry_delay, c.queue, c.priority, c.meta::text AS meta,
       c.headers::text AS headers, c.series_id::text AS series_id, extract(epoch FROM c.run_at)::float8 AS run_at
FROM claimed AS c
