-- How long the oldest due task of each queue has waited.
SELECT queue, extract(epoch FROM now() - min(run_at))::float8 AS age
FROM {schema}.tasks
WHERE status = 'queued' AND run_at <= now() AND pending_deps = 0
GROUP BY queue
