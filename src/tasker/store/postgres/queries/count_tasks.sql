-- How many tasks match (and would be changed by the action, if given), counting at most "cap" (NULL: all).
SELECT count(*)::bigint AS n
FROM (
    SELECT 1 FROM {schema}.tasks AS t
    WHERE {task_filter} AND {error_match} AND {applies}
    LIMIT %(cap)s::bigint
) AS matching
