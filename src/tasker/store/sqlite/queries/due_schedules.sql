SELECT id, every_seconds, cron, timezone, mode, catch_up, anchor, cursor_at
FROM schedules
WHERE status = 'active' AND cursor_at IS NOT NULL AND cursor_at <= :now + :lookahead
ORDER BY cursor_at
LIMIT 100
