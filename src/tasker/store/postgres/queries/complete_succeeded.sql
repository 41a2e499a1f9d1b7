-- The common case on its own: successes only, fenced like complete_tasks. The batch
-- comes as one JSON array (one parameter the client writes in one go, not five arrays).
-- Each success is tallied (tasker/tallies.py) in the same statement; keys in order, so
-- two workers sharing a tally shard lock its rows in the same order. The minute's count
-- (app.activity's chart) goes up with them.
WITH done AS (
    UPDATE {schema}.tasks AS t
    SET status = 'succeeded',
        result = coalesce(v.result::jsonb, 'null'),
        progress = coalesce(v.progress::jsonb, t.progress),
        started_at = now() - make_interval(secs => v.duration),
        finished_at = now(),
        worker_id = NULL,
        claim_token = NULL
    FROM json_to_recordset(%(outcomes)s::json)
         AS v(id uuid, token uuid, result json, progress json, duration float8, wait float8, run_bucket int2, wait_bucket int2)
    WHERE t.id = v.id AND t.claim_token = v.token AND t.status = 'running'
    RETURNING t.id, t.queue, t.type, v.duration, v.wait, v.run_bucket, v.wait_bucket
), tallied AS (
    INSERT INTO {schema}.task_tallies AS c (queue, type, status, run_bucket, wait_bucket, shard, n, run_seconds, wait_seconds)
    SELECT queue, type, 'succeeded', run_bucket, wait_bucket, mod(pg_backend_pid(), {tally_shards}),
           count(*), sum(duration), coalesce(sum(wait), 0)
    FROM done
    GROUP BY queue, type, run_bucket, wait_bucket
    ORDER BY queue, type, run_bucket, wait_bucket
    ON CONFLICT (queue, type, status, run_bucket, wait_bucket, shard) DO UPDATE
    SET n = c.n + excluded.n, run_seconds = c.run_seconds + excluded.run_seconds,
        wait_seconds = c.wait_seconds + excluded.wait_seconds
), charted AS (
    INSERT INTO {schema}.task_minutes AS m (minute, status, shard, n)
    SELECT date_trunc('minute', now()), 'succeeded', mod(pg_backend_pid(), {tally_shards}), count(*)
    FROM done
    HAVING count(*) > 0
    ON CONFLICT (minute, status, shard) DO UPDATE SET n = m.n + excluded.n
)
SELECT id::text FROM done
