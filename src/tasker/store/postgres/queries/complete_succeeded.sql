-- The common case on its own: successes only, fenced like complete_tasks.
UPDATE {schema}.tasks AS t
SET status = 'succeeded',
    result = v.result::jsonb,
    progress = coalesce(v.progress::jsonb, t.progress),
    started_at = now() - make_interval(secs => v.duration),
    finished_at = now(),
    worker_id = NULL,
    claim_token = NULL
FROM unnest(%(ids)s::uuid[], %(tokens)s::uuid[], %(results)s::text[], %(progress)s::text[], %(durations)s::float8[])
    AS v(id, token, result, progress, duration)
WHERE t.id = ANY(%(ids)s::uuid[])  -- lets the planner go by primary key
  AND t.id = v.id AND t.claim_token = v.token AND t.status = 'running'
RETURNING t.id::text
