SELECT queue, status, count(*)::bigint AS n
FROM {schema}.tasks
GROUP BY queue, status
