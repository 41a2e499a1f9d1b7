INSERT INTO task_dependencies (task_id, depends_on) VALUES (:task_id, :depends_on)
