-- The next batch of a bulk action: matching tasks it applies to, newest first after the cursor.
-- The action's own statement checks each again.
SELECT t.id
FROM tasks AS t
WHERE {task_filter} AND {error_match} AND {applies}
  AND t.id < coalesce(:after, '~')
ORDER BY t.id DESC
LIMIT :limit
