-- Fenced: a row changes only while it is still running under the same claim,
-- so a worker presumed dead cannot overwrite a task rescued and run again.
-- Each attempt that used up its try is tallied (tasker/tallies.py) in the same statement,
-- and each task that finished succeeded or failed counted in its minute (app.activity).
WITH done AS (
    UPDATE {schema}.tasks AS t
    SET status = CASE WHEN v.status = 'queued' AND t.cancel_requested THEN 'cancelled' ELSE v.status END,
        result = v.result::jsonb,
        progress = coalesce(v.progress::jsonb, t.progress),
        headers = coalesce(v.headers::jsonb, t.headers),
        last_error = coalesce(v.error, t.last_error),
        errors = CASE WHEN v.error IS NULL OR v.status = 'succeeded' THEN t.errors
                      ELSE {schema}.keep_recent_errors(t.errors || jsonb_build_array(jsonb_build_object(
                               'attempt', t.attempts, 'at', now(), 'error', v.error))) END,
        attempts = t.attempts - v.refund,
        -- The handler's own start, not the claim: a claimed task may wait for a slot.
        started_at = CASE WHEN v.duration IS NULL THEN t.started_at ELSE now() - make_interval(secs => v.duration) END,
        run_at = CASE WHEN v.status = 'queued' THEN now() + make_interval(secs => v.retry_in) ELSE t.run_at END,
        finished_at = CASE WHEN v.status = 'queued' AND NOT t.cancel_requested THEN NULL ELSE now() END,
        worker_id = NULL,
        claim_token = NULL
    FROM unnest(
        %(ids)s::uuid[], %(tokens)s::uuid[], %(statuses)s::text[], %(results)s::text[],
        %(errors)s::text[], %(retry_ins)s::float8[], %(refunds)s::integer[], %(progress)s::text[],
        %(durations)s::float8[], %(headers)s::text[], %(waits)s::float8[], %(run_buckets)s::int2[],
        %(wait_buckets)s::int2[]
    ) AS v(id, token, status, result, error, retry_in, refund, progress, duration, headers, wait, run_bucket, wait_bucket)
    WHERE t.id = ANY(%(ids)s::uuid[])  -- lets the planner go by primary key
      AND t.id = v.id AND t.claim_token = v.token AND t.status = 'running'
    RETURNING t.id, t.queue, t.type, t.status, v.refund, v.duration, v.wait, v.run_bucket, v.wait_bucket
), tallied AS (
    INSERT INTO {schema}.task_tallies AS c (queue, type, status, run_bucket, wait_bucket, shard, n, run_seconds, wait_seconds)
    SELECT queue, type, CASE WHEN status = 'queued' THEN '{tally_retried}' ELSE status END, run_bucket, wait_bucket,
           mod(pg_backend_pid(), {tally_shards}), count(*), coalesce(sum(duration), 0), coalesce(sum(wait), 0)
    FROM done
    WHERE refund = 0 OR status <> 'queued'   -- its try used, or the task ended (cancelled meanwhile)
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (queue, type, status, run_bucket, wait_bucket, shard) DO UPDATE
    SET n = c.n + excluded.n, run_seconds = c.run_seconds + excluded.run_seconds,
        wait_seconds = c.wait_seconds + excluded.wait_seconds
), charted AS (
    INSERT INTO {schema}.task_minutes AS m (minute, status, shard, n)
    SELECT date_trunc('minute', now()), status, mod(pg_backend_pid(), {tally_shards}), count(*)
    FROM done
    WHERE status IN ('succeeded', 'failed')
    GROUP BY status
    ORDER BY status
    ON CONFLICT (minute, status, shard) DO UPDATE SET n = m.n + excluded.n
)
SELECT id::text FROM done
