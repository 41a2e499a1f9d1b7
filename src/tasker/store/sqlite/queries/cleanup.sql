DELETE FROM tasks
WHERE status IN ('succeeded', 'failed', 'cancelled')
  AND (:older_than IS NULL OR finished_at < :now - :older_than)
