-- The common case on its own: successes only, fenced like complete_tasks. The batch
-- comes as one JSON array (one parameter the client writes in one go, not five arrays).
UPDATE {schema}.tasks AS t
SET status = 'succeeded',
    result = coalesce(v.result::jsonb, 'null'),
    progress = coalesce(v.progress::jsonb, t.progress),
    started_at = now() - make_interval(secs => v.duration),
    finished_at = now(),
    worker_id = NULL,
    claim_token = NULL
FROM json_to_recordset(%(outcomes)s::json) AS v(id uuid, token uuid, result json, progress json, duration float8)
WHERE t.id = v.id AND t.claim_token = v.token AND t.status = 'running'
RETURNING t.id::text
