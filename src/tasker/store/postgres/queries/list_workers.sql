SELECT w.id::text AS id, w.hostname, w.pid, w.queues, w.concurrency, w.started_at, w.last_seen, to_json(w.types)::text AS types,
       (SELECT count(*) FROM {schema}.tasks AS t WHERE t.worker_id = w.id AND t.status = 'running')::integer AS running
FROM {schema}.workers AS w
ORDER BY w.started_at, w.id
