-- What is under flow limits, by scope and name: the worker's cheap look before a limited claim.
-- Types whose queued tasks carry limits of their own count too (a partial index, empty without).
SELECT scope, name FROM flow_limits
UNION
SELECT DISTINCT 'type', type FROM tasks
WHERE status = 'queued' AND (concurrency_limit IS NOT NULL OR rate_count IS NOT NULL)
