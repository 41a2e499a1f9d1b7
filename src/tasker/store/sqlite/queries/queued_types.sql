-- How many tasks of each type are queued (to see the types no live worker handles).
SELECT type, count(*) AS n
FROM tasks
WHERE status = 'queued'
GROUP BY type
