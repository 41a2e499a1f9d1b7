-- The next batch of a bulk action: matching tasks it applies to, newest first after the cursor.
-- The action's own statement checks each again (a task may change in between).
SELECT t.id::text AS id
FROM {schema}.tasks AS t
WHERE {task_filter} AND {error_match} AND {applies}
  AND (%(after)s::uuid IS NULL OR t.id < %(after)s::uuid)
ORDER BY t.id DESC
LIMIT %(limit)s::bigint
