-- Tasks and the worker registry. Times are epoch seconds (REAL), JSON is TEXT.
CREATE TABLE tasks (
    id               TEXT PRIMARY KEY,
    type             TEXT NOT NULL,
    payload          TEXT NOT NULL DEFAULT 'null',
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    queue            TEXT NOT NULL DEFAULT 'default',
    priority         INTEGER NOT NULL DEFAULT 0,
    run_at           REAL NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    timeout          REAL NOT NULL DEFAULT 300 CHECK (timeout > 0),
    retry_delay      REAL,
    unique_key       TEXT,
    meta             TEXT,
    result           TEXT,
    last_error       TEXT,
    created_at       REAL NOT NULL,
    started_at       REAL,
    finished_at      REAL,
    worker_id        TEXT,
    claim_token      TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX tasks_due_idx ON tasks (priority DESC, run_at, id) WHERE status = 'queued';
CREATE UNIQUE INDEX tasks_unique_key_idx ON tasks (unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('queued', 'running');
CREATE INDEX tasks_running_idx ON tasks (worker_id) WHERE status = 'running';
CREATE INDEX tasks_finished_idx ON tasks (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE workers (
    id          TEXT PRIMARY KEY,
    hostname    TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    queues      TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    started_at  REAL NOT NULL,
    last_seen   REAL NOT NULL
);
