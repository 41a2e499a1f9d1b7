-- How long the oldest due task of each queue has waited.
SELECT queue, :now - min(run_at) AS age
FROM tasks
WHERE status = 'queued' AND run_at <= :now AND pending_deps = 0
GROUP BY queue
