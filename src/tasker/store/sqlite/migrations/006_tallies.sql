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
