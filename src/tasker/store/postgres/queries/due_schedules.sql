SELECT id::text AS id, every_seconds, cron, timezone, mode, catch_up,
       extract(epoch FROM anchor)::float8 AS anchor, extract(epoch FROM cursor_at)::float8 AS cursor_at
FROM {schema}.schedules
WHERE status = 'active' AND cursor_at IS NOT NULL AND cursor_at <= to_timestamp(%(now)s + %(lookahead)s)
ORDER BY cursor_at
LIMIT 100
FOR UPDATE SKIP LOCKED
