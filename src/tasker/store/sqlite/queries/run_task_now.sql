UPDATE tasks SET run_at = :now WHERE id = :id AND status = 'queued' RETURNING queue
