-- Tasks by queue and status without reading the history: live ones counted from the partial
-- indexes that hold them (due, blocked on dependencies, running: migration 009), finished ones
-- as the tallies less the departures (tasker/tallies.py, migration 007).
SELECT queue, status, count(*)::bigint AS n
FROM (
    SELECT queue, status FROM {schema}.tasks WHERE status = 'queued' AND pending_deps = 0
    UNION ALL
    SELECT queue, status FROM {schema}.tasks WHERE status = 'queued' AND pending_deps > 0
    UNION ALL
    SELECT queue, status FROM {schema}.tasks WHERE status = 'running'
) AS live
GROUP BY queue, status
UNION ALL
SELECT queue, status, sum(n)::bigint AS n
FROM (
    SELECT queue, status, n FROM {schema}.task_tallies WHERE status IN {finished}
    UNION ALL
    SELECT queue, status, -n FROM {schema}.task_departures
) AS finished
GROUP BY queue, status
