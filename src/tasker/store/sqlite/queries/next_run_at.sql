SELECT min(run_at) AS run_at
FROM tasks
WHERE status = 'queued'
  AND run_at > :now
  AND type IN (SELECT value FROM json_each(:types))
  AND pending_deps = 0
  AND (:queues IS NULL OR queue IN (SELECT value FROM json_each(:queues)))
  AND queue NOT IN (SELECT name FROM queue_settings WHERE paused)
