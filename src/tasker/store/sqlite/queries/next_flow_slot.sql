-- When a rate limit next has room: the oldest start still in its window leaves it.
SELECT min(s.at + l.rate_period) AS at
FROM flow_starts AS s
JOIN flow_limits AS l ON l.scope = s.scope AND l.name = s.name AND l.rate_count IS NOT NULL
WHERE s.at > :now - l.rate_period
