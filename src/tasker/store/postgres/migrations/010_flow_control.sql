-- Flow control (issue 17): limits per task type and per queue, enforced by the claim.
--
-- flow_limits holds both scopes: a type's limits are written by the workers that handle it
-- (from its handler's options), a queue's by app.configure_queue. A task with a partition key
-- is counted with its key's tasks only. flow_starts logs each start of a rate-limited task so
-- "N per period" holds over any window of that length (a sliding log, pruned as it ages).
CREATE TABLE {schema}.flow_limits (
    scope             text NOT NULL CHECK (scope IN ('type', 'queue')),
    name              text NOT NULL,
    concurrency_limit integer CHECK (concurrency_limit > 0),
    rate_count        integer CHECK (rate_count > 0),
    rate_period       float8 CHECK (rate_period > 0),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, name)
);

CREATE TABLE {schema}.flow_starts (
    scope         text NOT NULL,
    name          text NOT NULL,
    partition_key text NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX flow_starts_key_idx ON {schema}.flow_starts (scope, name, partition_key, at);

ALTER TABLE {schema}.tasks ADD COLUMN partition_key text;
-- A task's own limits (create(..., concurrency_limit=, rate_limit=)), standing in for its type's.
ALTER TABLE {schema}.tasks ADD COLUMN concurrency_limit integer;
ALTER TABLE {schema}.tasks ADD COLUMN rate_count integer;
ALTER TABLE {schema}.tasks ADD COLUMN rate_period float8;
-- Which types have queued tasks with limits of their own: the workers' cheap look (limited_names).
CREATE INDEX tasks_own_limits_idx ON {schema}.tasks (type)
    WHERE status = 'queued' AND (concurrency_limit IS NOT NULL OR rate_count IS NOT NULL);

-- The limited claim counts running tasks per type or queue and key.
CREATE INDEX tasks_running_flow_idx ON {schema}.tasks (type, queue, partition_key) WHERE status = 'running';
