-- Upsert, so a worker whose row was pruned while it was paused comes back;
-- returns its running tasks whose cancellation was requested (the fallback
-- for a lost notification).
WITH beat AS (
    INSERT INTO {schema}.workers (id, hostname, pid, queues, concurrency)
    VALUES (%(id)s::uuid, %(hostname)s, %(pid)s, %(queues)s, %(concurrency)s)
    ON CONFLICT (id) DO UPDATE SET last_seen = now()
    RETURNING id
)
SELECT t.id::text
FROM {schema}.tasks AS t
WHERE t.worker_id = %(id)s::uuid AND t.status = 'running' AND t.cancel_requested
