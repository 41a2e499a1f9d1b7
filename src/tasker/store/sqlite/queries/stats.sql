SELECT queue, status, count(*) AS n FROM tasks GROUP BY queue, status
