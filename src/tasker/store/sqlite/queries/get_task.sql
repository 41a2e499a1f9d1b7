SELECT {task_columns}
FROM tasks AS t
WHERE t.id = :id
