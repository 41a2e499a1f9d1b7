-- Flow control (issue 17): limits per task type and per queue, enforced by the claim.
--
-- flow_limits holds both scopes: a type's limits are written by the workers that handle it
-- (from its handler's options), a queue's by app.configure_queue. A task with a partition key
-- is counted with its key's tasks only. flow_starts logs each start of a rate-limited task so
-- "N per period" holds over any window of that length (a sliding log, pruned as it ages).
CREATE TABLE flow_limits (
    scope             TEXT NOT NULL CHECK (scope IN ('type', 'queue')),
    name              TEXT NOT NULL,
    concurrency_limit INTEGER CHECK (concurrency_limit > 0),
    rate_count        INTEGER CHECK (rate_count > 0),
    rate_period       REAL CHECK (rate_period > 0),
    updated_at        REAL NOT NULL,
    PRIMARY KEY (scope, name)
);

CREATE TABLE flow_starts (
    scope         TEXT NOT NULL,
    name          TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    at            REAL NOT NULL
);
CREATE INDEX flow_starts_key_idx ON flow_starts (scope, name, partition_key, at);

ALTER TABLE tasks ADD COLUMN partition_key TEXT;
-- A task's own limits (create(..., concurrency_limit=, rate_limit=)), standing in for its type's.
ALTER TABLE tasks ADD COLUMN concurrency_limit INTEGER;
ALTER TABLE tasks ADD COLUMN rate_count INTEGER;
ALTER TABLE tasks ADD COLUMN rate_period REAL;
-- Which types have queued tasks with limits of their own: the workers' cheap look (limited_names).
CREATE INDEX tasks_own_limits_idx ON tasks (type)
    WHERE status = 'queued' AND (concurrency_limit IS NOT NULL OR rate_count IS NOT NULL);

-- The limited claim counts running tasks per type or queue and key.
CREATE INDEX tasks_running_flow_idx ON tasks (type, queue, partition_key) WHERE status = 'running';
