SELECT s.id::text AS id, s.name, s.type, s.payload::text AS payload, s.every_seconds, s.cron, s.timezone, s.mode, s.catch_up, s.status,
       coalesce((SELECT min(t.run_at) FROM {schema}.tasks AS t WHERE t.series_id = s.id AND t.status = 'queued'),
                s.cursor_at) AS next_run_at,
       s.last_fire_at, s.created_at, s.queue
FROM {schema}.schedules AS s
WHERE %(all)s OR s.status = 'active'
ORDER BY s.created_at, s.id
