UPDATE {schema}.tasks SET run_at = now() WHERE id = %(id)s::uuid AND status IN {can_run_now} RETURNING queue
