SELECT queue, status, count(*) FROM tasks GROUP BY queue, status
