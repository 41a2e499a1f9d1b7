WITH picked AS (
    SELECT ctid
    FROM {schema}.tasks
    WHERE status = 'queued'
      AND run_at <= now()
      -- An expression, not the bare column: the planner then assumes a modest share of the due
      -- tasks match and walks tasks_due_idx in order. From the column's statistics it would
      -- take a type it has not sampled yet (new, or a burst since the last ANALYZE) for a single
      -- row, and read and sort the whole due backlog on every claim instead
      -- (tests/integration/test_query_plans.py).
      AND (type || '') = ANY(%(types)s::text[])
      AND pending_deps = 0
      AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
      AND queue NOT IN (SELECT name FROM {schema}.queue_settings WHERE paused)
      -- Types and queues under flow limits are claimed by claim_limited_tasks alone. Written
      -- as expressions against lists read once (empty without limits), as above: the planner
      -- then takes these to keep nearly every row, and still walks tasks_due_idx in order.
      AND (type || '') <> ALL(ARRAY(SELECT name FROM {schema}.flow_limits WHERE scope = 'type'))
      AND (queue || '') <> ALL(ARRAY(SELECT name FROM {schema}.flow_limits WHERE scope = 'queue'))
      AND concurrency_limit IS NULL AND rate_count IS NULL   -- nor tasks with limits of their own
    ORDER BY priority DESC, run_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {schema}.tasks AS t
SET status = 'running',
    attempts = t.attempts + 1,
    started_at = now(),
    worker_id = %(worker_id)s::uuid,
    claim_token = gen_random_uuid()
FROM picked
-- Joined by the locked rows' addresses: a nested loop of TID look-ups whatever the planner
-- believes of the table's size. A plan cached while the table was small otherwise reads the
-- picked ids with a sequential scan (id = ANY, or ctid = ANY) and keeps doing so as a burst
-- grows the table until the next ANALYZE (measured: 6-7 ms a claim at 13,000-21,000 rows).
-- A row another transaction updated after this statement's snapshot is locked but not seen
-- here: the next claim takes it.
WHERE t.ctid = picked.ctid
  -- This transaction only (a pooled connection, PgBouncer-safe): a claim lost in a database
  -- crash merely lets the task run again (outcomes stay durably committed), and not waiting
  -- for the WAL flush halves the time a claim takes. Read once (an InitPlan), before commit.
  AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'
RETURNING t.id::text AS id, t.claim_token::text AS claim_token, t.type, t.payload::text AS payload,
          t.attempts, t.max_attempts, t.timeout, t.retry_delay, t.queue, t.priority, t.meta::text AS meta,
          t.headers::text AS headers, t.series_id::text AS series_id, extract(epoch FROM t.run_at)::float8 AS run_at
