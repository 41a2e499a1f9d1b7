UPDATE tasks SET run_at = :now WHERE id = :id AND status IN {can_run_now} RETURNING queue
