-- Never a running task: its worker would write its outcome to nothing.
DELETE FROM {schema}.tasks WHERE id = %(id)s::uuid AND status IN {can_delete} RETURNING id
