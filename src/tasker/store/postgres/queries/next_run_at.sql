SELECT extract(epoch FROM min(run_at))::float8 AS run_at
FROM {schema}.tasks
WHERE status = 'queued'
  AND run_at > now()
  AND type = ANY(%(types)s::text[])
  AND pending_deps = 0
  AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
  AND queue NOT IN (SELECT name FROM {schema}.queue_settings WHERE paused)
