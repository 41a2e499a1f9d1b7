-- Tallies of ended attempts and tasks (see tasker/tallies.py): counters that never go down,
-- whatever cleanup deletes. One writer at a time here, so one shard.
CREATE TABLE task_tallies (
    queue TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    run_bucket INTEGER NOT NULL,
    wait_bucket INTEGER NOT NULL,
    shard INTEGER NOT NULL,
    n INTEGER NOT NULL,
    run_seconds REAL NOT NULL DEFAULT 0,
    wait_seconds REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, type, status, run_bucket, wait_bucket, shard)
);

-- A task cancelled while queued (by a user, its series, or a failed dependency) ends with
-- no attempt recorded: tallied here.
CREATE TRIGGER tasks_tally_cancelled AFTER UPDATE OF status ON tasks
WHEN OLD.status = 'queued' AND NEW.status = 'cancelled'
BEGIN
    INSERT INTO task_tallies (queue, type, status, run_bucket, wait_bucket, shard, n)
    VALUES (NEW.queue, NEW.type, 'cancelled', -1, -1, 0, 1)
    ON CONFLICT (queue, type, status, run_bucket, wait_bucket, shard) DO UPDATE SET n = n + 1;
END;

-- Finished tasks that left the history (deleted, cleaned up, retried): with the tallies they
-- give the stored counts of finished tasks without reading the history (stats.sql).
CREATE TABLE task_departures (
    queue TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (queue, type, status)
);

CREATE TRIGGER tasks_count_deletions AFTER DELETE ON tasks
WHEN OLD.status IN ('succeeded', 'failed', 'cancelled')
BEGIN
    INSERT INTO task_departures (queue, type, status, n) VALUES (OLD.queue, OLD.type, OLD.status, 1)
    ON CONFLICT (queue, type, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tasks_count_reopening AFTER UPDATE OF status ON tasks
WHEN OLD.status IN ('succeeded', 'failed', 'cancelled') AND NEW.status NOT IN ('succeeded', 'failed', 'cancelled')
BEGIN
    INSERT INTO task_departures (queue, type, status, n) VALUES (OLD.queue, OLD.type, OLD.status, 1)
    ON CONFLICT (queue, type, status) DO UPDATE SET n = n + 1;
END;

-- The history already stored counts as finished once: the tallies start from it.
INSERT INTO task_tallies (queue, type, status, run_bucket, wait_bucket, shard, n)
SELECT queue, type, status, -1, -1, 0, count(*)
FROM tasks
WHERE status IN ('succeeded', 'failed', 'cancelled')
GROUP BY queue, type, status;
