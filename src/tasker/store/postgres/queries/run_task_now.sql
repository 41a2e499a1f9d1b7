UPDATE {schema}.tasks SET run_at = now() WHERE id = %(id)s::uuid AND status = 'queued' RETURNING queue
