SELECT {task_columns}
FROM {schema}.tasks AS t
WHERE t.id = %(id)s::uuid
