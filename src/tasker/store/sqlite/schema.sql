-- The current schema in one piece, for fresh installs. Keep it equal to
-- migrations 001..N applied in order (tests/conformance/test_migrations.py checks).
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
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    series_id        TEXT,
    fire_time        REAL,
    pending_deps     INTEGER NOT NULL DEFAULT 0,
    has_dependents   INTEGER NOT NULL DEFAULT 0,
    progress         TEXT,
    errors           TEXT NOT NULL DEFAULT '[]'
);

CREATE INDEX tasks_due_idx ON tasks (priority DESC, run_at, id) WHERE status = 'queued' AND pending_deps = 0;
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

-- Recurring series.
CREATE TABLE schedules (
    id            TEXT PRIMARY KEY,
    name          TEXT,
    type          TEXT NOT NULL,
    payload       TEXT NOT NULL DEFAULT 'null',
    every_seconds REAL CHECK (every_seconds > 0),
    cron          TEXT,
    timezone      TEXT,
    mode          TEXT NOT NULL DEFAULT 'fixed_rate' CHECK (mode IN ('fixed_rate', 'after_finish')),
    catch_up      INTEGER NOT NULL DEFAULT 1 CHECK (catch_up >= 1),
    anchor        REAL NOT NULL,
    cursor_at     REAL,
    queue         TEXT NOT NULL,
    priority      INTEGER NOT NULL,
    max_attempts  INTEGER NOT NULL,
    timeout       REAL NOT NULL,
    retry_delay   REAL,
    meta          TEXT,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_at    REAL NOT NULL,
    last_fire_at  REAL,
    CHECK ((every_seconds IS NULL) <> (cron IS NULL))
);
CREATE UNIQUE INDEX schedules_name_idx ON schedules (name) WHERE name IS NOT NULL;
CREATE INDEX schedules_cursor_idx ON schedules (cursor_at) WHERE status = 'active';

-- Many workers may race to insert one tick: exactly one row wins.
CREATE UNIQUE INDEX tasks_series_tick_idx ON tasks (series_id, fire_time) WHERE series_id IS NOT NULL;

-- Dependencies and pausable queues.
CREATE TABLE task_dependencies (
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    depends_on TEXT NOT NULL,
    PRIMARY KEY (task_id, depends_on)
);
CREATE INDEX task_dependencies_depends_on_idx ON task_dependencies (depends_on);

CREATE TABLE queue_settings (
    name       TEXT PRIMARY KEY,
    paused     INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);

-- When a task that others wait on finishes: success releases them; failure or
-- cancellation cancels them, naming the dependency, and so on down the chain
-- (the connection turns recursive_triggers on).
CREATE TRIGGER tasks_release_dependents AFTER UPDATE OF status ON tasks
WHEN NEW.has_dependents AND OLD.status IS NOT NEW.status AND NEW.status = 'succeeded'
BEGIN
    UPDATE tasks SET pending_deps = pending_deps - 1
    WHERE id IN (SELECT task_id FROM task_dependencies WHERE depends_on = NEW.id) AND status = 'queued';
END;

CREATE TRIGGER tasks_cancel_dependents AFTER UPDATE OF status ON tasks
WHEN NEW.has_dependents AND OLD.status IS NOT NEW.status AND NEW.status IN ('failed', 'cancelled')
BEGIN
    UPDATE tasks
    SET status = 'cancelled', finished_at = (julianday('now') - 2440587.5) * 86400.0, cancel_requested = 1,
        last_error = 'Cancelled: dependency ' || NEW.id || ' ' || NEW.status
    WHERE id IN (SELECT task_id FROM task_dependencies WHERE depends_on = NEW.id) AND status = 'queued';
END;
