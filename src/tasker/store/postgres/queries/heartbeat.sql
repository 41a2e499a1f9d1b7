-- Upsert, so a worker whose row was pruned while it was paused comes back;
-- returns the running tasks the store says this worker holds, so it can act
-- on cancellations whose notification was lost and on claims it lost or
-- never heard of.
WITH beat AS (
    INSERT INTO {schema}.workers (id, hostname, pid, queues, concurrency, types)
    VALUES (%(id)s::uuid, %(hostname)s, %(pid)s, %(queues)s, %(concurrency)s, %(types)s::text[])
    ON CONFLICT (id) DO UPDATE SET last_seen = now()
    RETURNING id
)
SELECT t.id::text AS id, t.claim_token::text AS claim_token, t.cancel_requested,
       extract(epoch FROM now() - t.started_at)::float8 AS age
FROM {schema}.tasks AS t
WHERE t.worker_id = %(id)s::uuid AND t.status = 'running'
