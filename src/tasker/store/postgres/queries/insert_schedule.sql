-- A named series (declared in code) is upserted: a redeploy keeps its ticks
-- unless its timing changed; an anonymous one is always new.
INSERT INTO {schema}.schedules AS s
    (id, name, type, payload, every_seconds, cron, timezone, mode, catch_up, anchor, cursor_at,
     queue, priority, max_attempts, timeout, retry_delay, meta, cancellable, headers)
VALUES
    (%(id)s::uuid, %(name)s, %(type)s, %(payload)s::jsonb, %(every_seconds)s, %(cron)s, %(timezone)s,
     %(mode)s, %(catch_up)s, to_timestamp(%(anchor)s), to_timestamp(%(first_at)s),
     %(queue)s, %(priority)s, %(max_attempts)s, %(timeout)s, %(retry_delay)s, %(meta)s::jsonb, %(cancellable)s, %(headers)s::jsonb)
ON CONFLICT (name) WHERE name IS NOT NULL DO UPDATE
SET type = excluded.type, payload = excluded.payload, catch_up = excluded.catch_up,
    queue = excluded.queue, priority = excluded.priority, max_attempts = excluded.max_attempts,
    timeout = excluded.timeout, retry_delay = excluded.retry_delay, meta = excluded.meta, cancellable = excluded.cancellable, headers = excluded.headers,
    status = 'active',
    every_seconds = excluded.every_seconds, cron = excluded.cron, timezone = excluded.timezone, mode = excluded.mode,
    anchor = CASE WHEN (s.every_seconds, s.cron, s.timezone, s.mode)
                       IS DISTINCT FROM (excluded.every_seconds, excluded.cron, excluded.timezone, excluded.mode)
                  THEN excluded.anchor ELSE s.anchor END,
    cursor_at = CASE WHEN s.status = 'cancelled'
                       OR (s.every_seconds, s.cron, s.timezone, s.mode)
                          IS DISTINCT FROM (excluded.every_seconds, excluded.cron, excluded.timezone, excluded.mode)
                     THEN excluded.cursor_at ELSE s.cursor_at END
RETURNING id::text
