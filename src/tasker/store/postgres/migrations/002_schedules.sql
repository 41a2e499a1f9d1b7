-- Recurring series, and the link from each occurrence to its series and tick.
CREATE TABLE {schema}.schedules (
    id            uuid PRIMARY KEY,
    name          text,
    type          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT 'null',
    every_seconds double precision CONSTRAINT schedules_every_check CHECK (every_seconds > 0),
    cron          text,
    timezone      text,
    mode          text NOT NULL DEFAULT 'fixed_rate'
                  CONSTRAINT schedules_mode_check CHECK (mode IN ('fixed_rate', 'after_finish')),
    catch_up      integer NOT NULL DEFAULT 1 CONSTRAINT schedules_catch_up_check CHECK (catch_up >= 1),
    anchor        timestamptz NOT NULL,
    cursor_at     timestamptz,
    queue         text NOT NULL,
    priority      integer NOT NULL,
    max_attempts  integer NOT NULL,
    timeout       double precision NOT NULL,
    retry_delay   double precision,
    meta          jsonb,
    status        text NOT NULL DEFAULT 'active'
                  CONSTRAINT schedules_status_check CHECK (status IN ('active', 'cancelled')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_fire_at  timestamptz,
    CONSTRAINT schedules_kind_check CHECK ((every_seconds IS NULL) <> (cron IS NULL))
);
CREATE UNIQUE INDEX schedules_name_idx ON {schema}.schedules (name) WHERE name IS NOT NULL;
CREATE INDEX schedules_cursor_idx ON {schema}.schedules (cursor_at) WHERE status = 'active';

ALTER TABLE {schema}.tasks ADD COLUMN series_id uuid;
ALTER TABLE {schema}.tasks ADD COLUMN fire_time timestamptz;
-- Many workers may race to insert one tick: exactly one row wins.
CREATE UNIQUE INDEX tasks_series_tick_idx ON {schema}.tasks (series_id, fire_time) WHERE series_id IS NOT NULL;
