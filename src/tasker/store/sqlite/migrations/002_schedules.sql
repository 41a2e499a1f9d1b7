-- Recurring series, and the link from each occurrence to its series and tick.
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

ALTER TABLE tasks ADD COLUMN series_id TEXT;
ALTER TABLE tasks ADD COLUMN fire_time REAL;
-- Many workers may race to insert one tick: exactly one row wins.
CREATE UNIQUE INDEX tasks_series_tick_idx ON tasks (series_id, fire_time) WHERE series_id IS NOT NULL;
