-- The dependencies of a new task, locked so none finishes before the links exist.
SELECT id::text, status FROM {schema}.tasks WHERE id = ANY(%(ids)s::uuid[]) FOR SHARE
