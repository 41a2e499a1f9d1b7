-- The starts of the tasks just claimed, for the rate limits they fall under.
INSERT INTO flow_starts (scope, name, partition_key, at)
SELECT l.scope, l.name, coalesce(t.partition_key, ''), :now
FROM tasks AS t
JOIN flow_limits AS l
  ON l.rate_count IS NOT NULL
 AND ((l.scope = 'type' AND l.name = t.type) OR (l.scope = 'queue' AND l.name = t.queue))
WHERE t.id IN (SELECT value FROM json_each(:ids))
