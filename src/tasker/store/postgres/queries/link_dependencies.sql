WITH links AS (
    INSERT INTO {schema}.task_dependencies (task_id, depends_on)
    SELECT %(task_id)s::uuid, unnest(%(ids)s::uuid[])
)
UPDATE {schema}.tasks SET has_dependents = true WHERE id = ANY(%(ids)s::uuid[]) AND NOT has_dependents
