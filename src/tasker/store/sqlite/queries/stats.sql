-- Tasks by queue and status without reading the history: live ones counted (few, indexed),
-- finished ones as the tallies less the departures (tasker/tallies.py, migration 006).
SELECT queue, status, count(*) AS n
FROM tasks
WHERE status IN {live}
GROUP BY queue, status
UNION ALL
SELECT queue, status, sum(n) AS n
FROM (
    SELECT queue, status, n FROM task_tallies WHERE status IN {finished}
    UNION ALL
    SELECT queue, status, -n FROM task_departures
) AS finished
GROUP BY queue, status
