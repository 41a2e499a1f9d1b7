UPDATE {schema}.schedules
SET cursor_at = to_timestamp(%(cursor)s),
    last_fire_at = coalesce(to_timestamp(%(last_fire)s), last_fire_at)
WHERE id = %(schedule_id)s::uuid
