-- Every stored limit, with its due tasks waiting, its running ones and its starts in the last
-- period (the last minute without a rate). Per scope its own subquery, so each reads the live
-- tasks through their partial indexes, never the history.
SELECT l.scope, l.name, l.concurrency_limit, l.rate_count, l.rate_period,
       CASE WHEN l.scope = 'type'
            THEN (SELECT count(*) FROM tasks AS t
                  WHERE t.status = 'queued' AND t.run_at <= :now AND t.pending_deps = 0 AND t.type = l.name)
            ELSE (SELECT count(*) FROM tasks AS t
                  WHERE t.status = 'queued' AND t.run_at <= :now AND t.pending_deps = 0 AND t.queue = l.name)
       END AS waiting,
       CASE WHEN l.scope = 'type'
            THEN (SELECT count(*) FROM tasks AS t WHERE t.status = 'running' AND t.type = l.name)
            ELSE (SELECT count(*) FROM tasks AS t WHERE t.status = 'running' AND t.queue = l.name)
       END AS running,
       (SELECT count(*) FROM flow_starts AS s
        WHERE s.scope = l.scope AND s.name = l.name AND s.at > :now - coalesce(l.rate_period, 60)) AS recent_starts
FROM flow_limits AS l
ORDER BY l.scope, l.name
