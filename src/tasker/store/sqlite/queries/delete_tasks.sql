-- delete_task.sql for a batch of ids (a JSON array): never a running task.
DELETE FROM tasks WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN {can_delete}
RETURNING id, status, queue
