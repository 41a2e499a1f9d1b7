-- One recorded attempt added to its tally row (tasker/tallies.py).
INSERT INTO task_tallies (queue, type, status, run_bucket, wait_bucket, shard, n, run_seconds, wait_seconds)
VALUES (:queue, :type, CASE WHEN :status = 'queued' THEN '{tally_retried}' ELSE :status END, :run_bucket, :wait_bucket, 0, 1,
        coalesce(:duration, 0), coalesce(:wait, 0))
ON CONFLICT (queue, type, status, run_bucket, wait_bucket, shard) DO UPDATE
SET n = n + 1, run_seconds = run_seconds + excluded.run_seconds, wait_seconds = wait_seconds + excluded.wait_seconds
