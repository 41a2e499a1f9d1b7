UPDATE schedules
SET cursor_at = :cursor,
    last_fire_at = coalesce(:last_fire, last_fire_at)
WHERE id = :schedule_id
