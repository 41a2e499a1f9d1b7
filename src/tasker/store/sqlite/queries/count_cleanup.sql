-- What cleanup.sql would delete, counted (cleanup --dry-run).
SELECT count(*) AS n FROM tasks
WHERE status IN {finished}
  AND (:before IS NULL OR finished_at < :before)
  AND (:status IS NULL OR status = :status)
  AND (:type IS NULL OR type = :type)
