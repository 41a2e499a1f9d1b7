UPDATE schedules SET status = 'cancelled', cursor_at = NULL
WHERE id = :id AND status = 'active'
RETURNING id
