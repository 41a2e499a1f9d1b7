INSERT INTO workers (id, hostname, pid, queues, concurrency, types, started_at, last_seen)
VALUES (:id, :hostname, :pid, :queues, :concurrency, :types, :now, :now)
ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen
