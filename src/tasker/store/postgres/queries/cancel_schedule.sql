UPDATE {schema}.schedules SET status = 'cancelled', cursor_at = NULL
WHERE id = %(id)s::uuid AND status = 'active'
RETURNING id
