SELECT CAST(finished_at / 60 AS INTEGER) * 60.0 AS minute, status, count(*) AS n
FROM tasks
WHERE finished_at >= :now - :window AND status IN ('succeeded', 'failed')
GROUP BY 1, 2
ORDER BY 1, 2
