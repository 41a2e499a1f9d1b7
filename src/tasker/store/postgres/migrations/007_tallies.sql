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
