-- The running tasks the store says this worker holds.
SELECT id, claim_token, cancel_requested, :now - started_at AS age
FROM tasks
WHERE worker_id = :id AND status = 'running'
