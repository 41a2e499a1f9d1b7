-- The tasks a batch's rows ran into: rows with their own ids and the live holders of their unique keys.
SELECT id, unique_key
FROM tasks
WHERE id IN (SELECT value FROM json_each(:ids))
   OR (unique_key IN (SELECT value FROM json_each(:keys)) AND status IN {live})
