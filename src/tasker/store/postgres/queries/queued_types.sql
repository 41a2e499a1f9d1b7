-- How many tasks of each type are queued (to see the types no live worker handles), read from
-- the two partial indexes that hold queued tasks (migration 009), never from the history.
SELECT type, count(*)::bigint AS n
FROM (
    SELECT type FROM {schema}.tasks WHERE status = 'queued' AND pending_deps = 0
    UNION ALL
    SELECT type FROM {schema}.tasks WHERE status = 'queued' AND pending_deps > 0
) AS queued
GROUP BY type
