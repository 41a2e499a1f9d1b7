-- Debounce (on_conflict='replace'): the queued holder of the unique key takes the new payload
-- and run_at and keeps its id. A holder already running is left alone (release_unique_key).
UPDATE tasks
SET payload = :payload, run_at = coalesce(:run_at, :now + :delay)
WHERE unique_key = :unique_key AND status = 'queued'
RETURNING id
