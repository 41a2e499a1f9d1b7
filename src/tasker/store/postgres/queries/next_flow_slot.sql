-- When a rate limit next has room: the oldest start still in its window leaves it.
SELECT extract(epoch FROM min(s.at + make_interval(secs => l.rate_period)))::float8 AS at
FROM {schema}.flow_starts AS s
JOIN {schema}.flow_limits AS l ON l.scope = s.scope AND l.name = s.name AND l.rate_count IS NOT NULL
WHERE s.at > now() - make_interval(secs => l.rate_period)
