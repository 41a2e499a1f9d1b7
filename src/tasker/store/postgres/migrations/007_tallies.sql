-- Tallies of ended attempts and tasks (see tasker/tallies.py): counters that never go down,
-- whatever cleanup deletes. Several shards per key, so concurrent workers seldom share a row.
CREATE TABLE {schema}.task_tallies (
    queue text NOT NULL,
    type text NOT NULL,
    status text NOT NULL,
    run_bucket smallint NOT NULL,
    wait_bucket smallint NOT NULL,
    shard smallint NOT NULL,
    n bigint NOT NULL,
    run_seconds float8 NOT NULL DEFAULT 0,
    wait_seconds float8 NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, type, status, run_bucket, wait_bucket, shard)
);

-- A task cancelled while queued (by a user, its series, or a failed dependency) ends with
-- no attempt recorded: tallied here, one row at a time, on this rare path only.
CREATE FUNCTION {schema}.tally_cancelled() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {schema}.task_tallies AS c (queue, type, status, run_bucket, wait_bucket, shard, n)
    VALUES (NEW.queue, NEW.type, 'cancelled', -1, -1, 0, 1)
    ON CONFLICT (queue, type, status, run_bucket, wait_bucket, shard) DO UPDATE SET n = c.n + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_tally_cancelled AFTER UPDATE OF status ON {schema}.tasks
    FOR EACH ROW
    WHEN (OLD.status = 'queued' AND NEW.status = 'cancelled')
    EXECUTE FUNCTION {schema}.tally_cancelled();

-- Finished tasks that left the history (deleted, cleaned up, retried): with the tallies they
-- give the stored counts of finished tasks without reading the history (stats.sql). Counted by
-- triggers, so every way out is counted: a statement-level one for deletes (one aggregate a
-- batch), a row-level one for the rare reopening of a finished task (retry).
CREATE TABLE {schema}.task_departures (
    queue text NOT NULL,
    type text NOT NULL,
    status text NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (queue, type, status)
);

CREATE FUNCTION {schema}.count_deletions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {schema}.task_departures AS d (queue, type, status, n)
    SELECT queue, type, status, count(*) FROM gone
    WHERE status IN ('succeeded', 'failed', 'cancelled')
    GROUP BY queue, type, status
    ORDER BY queue, type, status
    ON CONFLICT (queue, type, status) DO UPDATE SET n = d.n + excluded.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_count_deletions AFTER DELETE ON {schema}.tasks
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.count_deletions();

CREATE FUNCTION {schema}.count_reopening() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {schema}.task_departures AS d (queue, type, status, n)
    VALUES (OLD.queue, OLD.type, OLD.status, 1)
    ON CONFLICT (queue, type, status) DO UPDATE SET n = d.n + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_count_reopening AFTER UPDATE OF status ON {schema}.tasks
    FOR EACH ROW
    WHEN (OLD.status IN ('succeeded', 'failed', 'cancelled') AND NEW.status NOT IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION {schema}.count_reopening();

-- The history already stored counts as finished once: the tallies start from it.
INSERT INTO {schema}.task_tallies (queue, type, status, run_bucket, wait_bucket, shard, n)
SELECT queue, type, status, -1, -1, 0, count(*)
FROM {schema}.tasks
WHERE status IN ('succeeded', 'failed', 'cancelled')
GROUP BY queue, type, status;
