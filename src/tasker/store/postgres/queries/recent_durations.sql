-- Run time and queue wait of recently finished attempts (for histograms).
SELECT queue, status,
       extract(epoch FROM finished_at - started_at)::float8 AS run_seconds,
       extract(epoch FROM started_at - run_at)::float8 AS wait_seconds
FROM {schema}.tasks
WHERE finished_at >= now() - make_interval(secs => %(window)s) AND started_at IS NOT NULL
ORDER BY finished_at DESC
LIMIT %(limit)s
