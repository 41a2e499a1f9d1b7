-- One batch of a cleanup (the ids deleted): the caller repeats it until a batch comes back short,
-- so the write lock is taken and released once per batch, not held over the whole history.
DELETE FROM tasks
WHERE id IN (
    SELECT id FROM tasks
    WHERE status IN {finished}
      AND (:before IS NULL OR finished_at < :before)
      AND (:status IS NULL OR status = :status)
      AND (:type IS NULL OR type = :type)
    LIMIT :batch
)
RETURNING id
