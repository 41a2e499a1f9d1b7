SELECT w.id, w.hostname, w.pid, w.queues, w.concurrency, w.started_at, w.last_seen, json(w.types) AS types,
       (SELECT count(*) FROM tasks AS t WHERE t.worker_id = w.id AND t.status = 'running') AS running
FROM workers AS w
ORDER BY w.started_at, w.id
