SELECT extract(epoch FROM date_trunc('minute', finished_at))::float8 AS minute, status, count(*)::bigint AS n
FROM {schema}.tasks
WHERE finished_at >= now() - make_interval(secs => %(window)s) AND status IN ('succeeded', 'failed')
GROUP BY 1, 2
ORDER BY 1, 2
