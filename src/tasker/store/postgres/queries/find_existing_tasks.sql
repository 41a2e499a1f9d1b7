-- The tasks a batch's rows ran into: rows with their own ids (an insert repeated after its
-- answer was lost) and the live holders of their unique keys.
SELECT id::text AS id, unique_key
FROM {schema}.tasks
WHERE id = ANY(%(ids)s::uuid[])
   OR (unique_key = ANY(%(keys)s::text[]) AND status IN {live})
