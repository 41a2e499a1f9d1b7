-- The claim of tasks under flow limits (issue 17): those of a type or queue in flow_limits,
-- which claim_tasks leaves alone. Run inside BEGIN IMMEDIATE (SQLite's one writer), so the
-- counts hold every earlier claim of every process sharing the file.
--
-- Room per limited scope and partition key: its concurrency limit less its running tasks
-- (claimed-but-waiting ones count: they are 'running' here) and its rate less its starts in
-- the last period, whichever is smaller. Tasks take turns per key (round robin within a
-- priority), so a key with a long backlog does not starve one with a single task.
WITH candidates AS (
    -- A task's own limits (create(..., concurrency_limit=, rate_limit=)) stand in for its type's.
    SELECT t.id, t.type, t.queue, coalesce(t.partition_key, '') AS key, t.priority, t.run_at,
           coalesce(t.concurrency_limit, tl.concurrency_limit) AS type_concurrency,
           CASE WHEN t.rate_count IS NOT NULL THEN t.rate_count ELSE tl.rate_count END AS type_rate,
           CASE WHEN t.rate_count IS NOT NULL THEN t.rate_period ELSE tl.rate_period END AS type_period,
           ql.name IS NOT NULL AS by_queue
    FROM tasks AS t
    LEFT JOIN flow_limits AS tl ON tl.scope = 'type' AND tl.name = t.type
    LEFT JOIN flow_limits AS ql ON ql.scope = 'queue' AND ql.name = t.queue
    WHERE t.status = 'queued'
      AND t.run_at <= :now
      AND t.type IN (SELECT value FROM json_each(:types))
      AND t.pending_deps = 0
      AND (:queues IS NULL OR t.queue IN (SELECT value FROM json_each(:queues)))
      AND t.queue NOT IN (SELECT name FROM queue_settings WHERE paused)
      AND (tl.name IS NOT NULL OR ql.name IS NOT NULL OR t.concurrency_limit IS NOT NULL OR t.rate_count IS NOT NULL)
), type_running AS (
    SELECT g.type, g.key, (
        SELECT count(*) FROM tasks AS r
        WHERE r.status = 'running' AND r.type = g.type AND coalesce(r.partition_key, '') = g.key) AS n
    FROM (SELECT DISTINCT type, key FROM candidates WHERE type_concurrency IS NOT NULL) AS g
), type_started AS (
    SELECT g.type, g.key, g.type_period, (
        SELECT count(*) FROM flow_starts AS s
        WHERE s.scope = 'type' AND s.name = g.type AND s.partition_key = g.key
          AND s.at > :now - g.type_period) AS n
    FROM (SELECT DISTINCT type, key, type_period FROM candidates WHERE type_rate IS NOT NULL) AS g
), queue_room AS (
    SELECT g.queue, g.key, min(
        coalesce(l.concurrency_limit - (
            SELECT count(*) FROM tasks AS r
            WHERE r.status = 'running' AND r.queue = g.queue AND coalesce(r.partition_key, '') = g.key), 2147483647),
        coalesce(l.rate_count - (
            SELECT count(*) FROM flow_starts AS s
            WHERE s.scope = 'queue' AND s.name = g.queue AND s.partition_key = g.key
              AND s.at > :now - l.rate_period), 2147483647)) AS room
    FROM (SELECT DISTINCT queue, key FROM candidates WHERE by_queue) AS g
    JOIN flow_limits AS l ON l.scope = 'queue' AND l.name = g.queue
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
    ORDER BY qt.priority DESC, max(qt.turn, qt.queue_turn), qt.run_at, qt.id
    LIMIT :limit
)
UPDATE tasks
SET status = 'running',
    attempts = attempts + 1,
    started_at = :now,
    worker_id = :worker_id,
    claim_token = lower(hex(randomblob(16)))
WHERE id IN (SELECT id FROM chosen) AND status = 'queued'
RETURNING id, claim_token, type, payload, attempts, max_attempts, timeout, retry_delay, queue, priority, meta,
          headers, series_id, run_at
