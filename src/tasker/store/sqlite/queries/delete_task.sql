-- Never a running task: its worker would write its outcome to nothing.
DELETE FROM tasks WHERE id = :id AND status IN {can_delete} RETURNING id
