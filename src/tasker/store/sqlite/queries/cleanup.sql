DELETE FROM tasks
WHERE status IN {finished}
  AND (:older_than IS NULL OR finished_at < :now - :older_than)
