-- Make delayed tasks of a batch (a JSON array of ids) due now; one already due keeps its place in line.
UPDATE tasks SET run_at = :now
WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN {can_run_now} AND run_at > :now
RETURNING id, status, queue
