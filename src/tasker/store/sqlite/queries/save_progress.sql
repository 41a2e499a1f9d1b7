UPDATE tasks SET progress = :progress WHERE id = :id AND claim_token = :token AND status = 'running'
