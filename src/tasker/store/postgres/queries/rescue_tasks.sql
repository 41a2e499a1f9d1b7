-- Running tasks whose worker stopped heartbeating: run again (the lost attempt
-- counts) or fail once attempts are used up. Safe to run on many workers at once.
-- The lost attempts are tallied (unmeasured: bucket -1) in the same statement, and the
-- tasks that failed for good counted in their minute (app.activity).
WITH lost AS (
    SELECT t.id, t.worker_id
    FROM {schema}.tasks AS t
    WHERE t.status = 'running'
      AND NOT EXISTS (
          SELECT 1 FROM {schema}.workers AS w
          WHERE w.id = t.worker_id AND w.last_seen > now() - make_interval(secs => %(lease)s)
      )
    FOR UPDATE OF t SKIP LOCKED
), rescued AS (
    UPDATE {schema}.tasks AS t
    SET status = CASE WHEN t.cancel_requested THEN 'cancelled'
                      WHEN t.attempts >= t.max_attempts THEN 'failed'
                      ELSE 'queued' END,
        last_error = 'WorkerLost: worker ' || coalesce(lost.worker_id::text, '?')
                     || ' stopped heartbeating during attempt ' || t.attempts,
        errors = {schema}.keep_recent_errors(t.errors || jsonb_build_array(jsonb_build_object(
            'attempt', t.attempts, 'at', now(),
            'error', 'WorkerLost: worker ' || coalesce(lost.worker_id::text, '?') || ' stopped heartbeating'))),
        finished_at = CASE WHEN t.cancel_requested OR t.attempts >= t.max_attempts THEN now() END,
        run_at = now(),
        worker_id = NULL,
        claim_token = NULL
    FROM lost
    WHERE t.id = lost.id
    RETURNING t.id, t.queue, t.type, t.status
), tallied AS (
    INSERT INTO {schema}.task_tallies AS c (queue, type, status, run_bucket, wait_bucket, shard, n)
    SELECT queue, type, CASE WHEN status = 'queued' THEN '{tally_retried}' ELSE status END, -1, -1,
           mod(pg_backend_pid(), {tally_shards}), count(*)
    FROM rescued
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (queue, type, status, run_bucket, wait_bucket, shard) DO UPDATE SET n = c.n + excluded.n
), charted AS (
    INSERT INTO {schema}.task_minutes AS m (minute, status, shard, n)
    SELECT date_trunc('minute', now()), status, mod(pg_backend_pid(), {tally_shards}), count(*)
    FROM rescued
    WHERE status = 'failed'
    GROUP BY status
    ON CONFLICT (minute, status, shard) DO UPDATE SET n = m.n + excluded.n
)
SELECT id::text FROM rescued
