-- The tallies summed over their shards (tasker/tallies.py).
SELECT queue, type, status, run_bucket, wait_bucket,
       sum(n) AS count, sum(run_seconds) AS run_seconds, sum(wait_seconds) AS wait_seconds
FROM task_tallies
GROUP BY queue, type, status, run_bucket, wait_bucket
ORDER BY queue, type, status, run_bucket, wait_bucket
