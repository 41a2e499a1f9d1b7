-- Given tasks, due or not (the testing helpers' drain and inline modes): queued, not
-- waiting on dependencies, whatever their run_at and queue; claimed as claim_tasks does.
WITH picked AS (
    SELECT id
    FROM {schema}.tasks
    WHERE id = ANY(%(ids)s::uuid[]) AND status = 'queued' AND pending_deps = 0
    ORDER BY priority DESC, run_at, id
    FOR UPDATE SKIP LOCKED
)
UPDATE {schema}.tasks AS t
SET status = 'running',
    attempts = t.attempts + 1,
    started_at = now(),
    worker_id = %(worker_id)s::uuid,
    claim_token = gen_random_uuid()
WHERE t.id = ANY(ARRAY(SELECT id FROM picked))
RETURNING t.id::text AS id, t.claim_token::text AS claim_token, t.type, t.payload::text AS payload,
          t.attempts, t.max_attempts, t.timeout, t.retry_delay, t.queue, t.priority, t.meta::text AS meta,
          t.headers::text AS headers, t.series_id::text AS series_id, extract(epoch FROM t.run_at)::float8 AS run_at
