-- Tasks that finished succeeded or failed, a minute at a time, from the counts kept as they
-- finish (migration 009), not from the history.
SELECT extract(epoch FROM minute)::float8 AS minute, status, sum(n)::bigint AS n
FROM {schema}.task_minutes
WHERE minute >= date_trunc('minute', now() - make_interval(secs => %(window)s))
GROUP BY 1, 2
ORDER BY 1, 2
