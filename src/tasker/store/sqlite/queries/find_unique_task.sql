SELECT id FROM tasks WHERE unique_key = :unique_key AND status IN ('queued', 'running')
