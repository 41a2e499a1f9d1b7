-- The starts of the tasks just claimed, for the rate limits they fall under (their type's, or
-- their own, and their queue's).
INSERT INTO flow_starts (scope, name, partition_key, at)
SELECT 'type', t.type, coalesce(t.partition_key, ''), :now
FROM tasks AS t
WHERE t.id IN (SELECT value FROM json_each(:ids))
  AND (t.rate_count IS NOT NULL
       OR EXISTS (SELECT 1 FROM flow_limits AS l WHERE l.scope = 'type' AND l.name = t.type AND l.rate_count IS NOT NULL))
UNION ALL
SELECT 'queue', t.queue, coalesce(t.partition_key, ''), :now
FROM tasks AS t
WHERE t.id IN (SELECT value FROM json_each(:ids))
  AND EXISTS (SELECT 1 FROM flow_limits AS l WHERE l.scope = 'queue' AND l.name = t.queue AND l.rate_count IS NOT NULL)
