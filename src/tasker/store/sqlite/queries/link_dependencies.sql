INSERT INTO task_dependencies (task_id, depends_on) SELECT :task_id, value FROM json_each(:ids)
