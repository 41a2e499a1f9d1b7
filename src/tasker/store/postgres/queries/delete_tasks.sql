-- delete_task.sql for a batch of ids: never a running task.
DELETE FROM {schema}.tasks WHERE id = ANY(%(ids)s::uuid[]) AND status IN {can_delete}
RETURNING id::text AS id, status, queue
