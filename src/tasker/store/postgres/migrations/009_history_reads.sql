-- Reads that stay cheap however long the history grows.
--
-- The dashboard's chart of finished tasks a minute, counted as tasks finish (by the same
-- statements that tally them) instead of read back from the history: the last hour alone
-- can hold hundreds of thousands of tasks. Sharded like the tallies; kept for a week
-- (rescue_tasks prunes older minutes). Seeded from the week already stored.
CREATE TABLE {schema}.task_minutes (
    minute timestamptz NOT NULL,
    status text NOT NULL,
    shard smallint NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (minute, status, shard)
);
INSERT INTO {schema}.task_minutes (minute, status, shard, n)
SELECT date_trunc('minute', finished_at), status, 0, count(*)
FROM {schema}.tasks
WHERE finished_at >= now() - interval '7 days' AND status IN ('succeeded', 'failed')
GROUP BY 1, 2;

-- The list indexes of migration 008 leave the queued tasks out. Over every status, they
-- lured the claim's planner: for a type it had no statistics for yet (a new type, a burst)
-- it read every queued task through one of them and sorted the whole backlog on each claim,
-- instead of walking tasks_due_idx in order. They were also written at each change of status
-- (queued, running, finished): now once or twice a task. Queued tasks are listed from
-- tasks_due_idx and, waiting on dependencies, tasks_blocked_idx (a sort of the backlog, not
-- of the history); by type, finished tasks only from the type index, the others from the
-- status index. stats() counts the live tasks from the same three partial indexes.
-- On a large table, create the new indexes beforehand with CREATE INDEX CONCURRENTLY (same
-- names and definitions): this migration then skips them instead of blocking writes meanwhile.
CREATE INDEX IF NOT EXISTS tasks_status_started_idx ON {schema}.tasks (status, id) WHERE status <> 'queued';
CREATE INDEX IF NOT EXISTS tasks_blocked_idx ON {schema}.tasks (id) WHERE status = 'queued' AND pending_deps > 0;
CREATE INDEX IF NOT EXISTS tasks_type_finished_idx ON {schema}.tasks (type, status, id)
    WHERE status IN ('succeeded', 'failed', 'cancelled');
DROP INDEX IF EXISTS {schema}.tasks_status_list_idx;
DROP INDEX IF EXISTS {schema}.tasks_type_list_idx;
