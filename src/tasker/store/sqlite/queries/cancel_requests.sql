SELECT id FROM tasks WHERE worker_id = :id AND status = 'running' AND cancel_requested
