SELECT unique_key, id
FROM tasks
WHERE unique_key IN (SELECT value FROM json_each(:keys)) AND status IN {live}
