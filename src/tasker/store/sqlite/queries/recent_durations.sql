-- Run time and queue wait of recently finished attempts (for histograms).
SELECT queue, status, finished_at - started_at AS run_seconds, started_at - run_at AS wait_seconds
FROM tasks
WHERE finished_at >= :now - :window AND started_at IS NOT NULL
ORDER BY finished_at DESC
LIMIT :limit
