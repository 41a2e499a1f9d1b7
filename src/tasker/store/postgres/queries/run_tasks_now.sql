-- Make delayed tasks of a batch due now (one already due keeps its place in line).
UPDATE {schema}.tasks SET run_at = now()
WHERE id = ANY(%(ids)s::uuid[]) AND status IN {can_run_now} AND run_at > now()
RETURNING id::text AS id, status, queue
