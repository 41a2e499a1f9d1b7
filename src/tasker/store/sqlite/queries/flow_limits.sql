-- Every stored limit, with how many tasks are due and waiting on it and its starts in the last period.
SELECT l.scope, l.name, l.concurrency_limit, l.rate_count, l.rate_period,
       (SELECT count(*) FROM tasks AS t
        WHERE t.status = 'queued' AND t.run_at <= :now AND t.pending_deps = 0
          AND CASE WHEN l.scope = 'type' THEN t.type ELSE t.queue END = l.name) AS waiting,
       (SELECT count(*) FROM tasks AS t
        WHERE t.status = 'running' AND CASE WHEN l.scope = 'type' THEN t.type ELSE t.queue END = l.name) AS running,
       (SELECT count(*) FROM flow_starts AS s
        WHERE s.scope = l.scope AND s.name = l.name AND s.at > :now - coalesce(l.rate_period, 60)) AS recent_starts
FROM flow_limits AS l
ORDER BY l.scope, l.name
