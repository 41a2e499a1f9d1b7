SELECT unique_key, id::text
FROM {schema}.tasks
WHERE unique_key = ANY(%(keys)s::text[]) AND status IN {live}
