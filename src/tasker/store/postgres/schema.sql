-- The current schema in one piece, for fresh installs. Keep it equal to
-- migrations 001..N applied in order (tests/conformance/test_migrations.py checks).
-- Tasks and the worker registry. Statements that insert tasks NOTIFY workers
-- themselves, in their transaction (see insert_tasks.sql).
CREATE TABLE {schema}.tasks (
    id               uuid PRIMARY KEY,
    type             text NOT NULL,
    payload          jsonb NOT NULL DEFAULT 'null',
    status           text NOT NULL DEFAULT 'queued'
                     CONSTRAINT tasks_status_check
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    queue            text NOT NULL DEFAULT 'default',
    priority         integer NOT NULL DEFAULT 0,
    run_at           timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL DEFAULT 3 CONSTRAINT tasks_max_attempts_check CHECK (max_attempts >= 1),
    timeout          double precision NOT NULL DEFAULT 300 CONSTRAINT tasks_timeout_check CHECK (timeout > 0),
    retry_delay      double precision,
    unique_key       text,
    meta             jsonb,
    result           jsonb,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    worker_id        uuid,
    claim_token      uuid,
    cancel_requested boolean NOT NULL DEFAULT false,
    series_id        uuid,
    fire_time        timestamptz,
    pending_deps     integer NOT NULL DEFAULT 0,
    has_dependents   boolean NOT NULL DEFAULT false,
    progress         jsonb,
    errors           jsonb NOT NULL DEFAULT '[]'
);

-- The hot query: due tasks in priority order.
CREATE INDEX tasks_due_idx ON {schema}.tasks (priority DESC, run_at, id) WHERE status = 'queued' AND pending_deps = 0;
-- unique_key holds only while a task with it is queued or running.
CREATE UNIQUE INDEX tasks_unique_key_idx ON {schema}.tasks (unique_key)
    WHERE unique_key IS NOT NULL AND status IN ('queued', 'running');
CREATE INDEX tasks_running_idx ON {schema}.tasks (worker_id) WHERE status = 'running';
CREATE INDEX tasks_finished_idx ON {schema}.tasks (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE {schema}.workers (
    id          uuid PRIMARY KEY,
    hostname    text NOT NULL,
    pid         integer NOT NULL,
    queues      text NOT NULL,
    concurrency integer NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);

-- Recurring series.
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

-- Many workers may race to insert one tick: exactly one row wins.
CREATE UNIQUE INDEX tasks_series_tick_idx ON {schema}.tasks (series_id, fire_time) WHERE series_id IS NOT NULL;

-- Dependencies and pausable queues.
CREATE TABLE {schema}.task_dependencies (
    task_id    uuid NOT NULL REFERENCES {schema}.tasks (id) ON DELETE CASCADE,
    depends_on uuid NOT NULL,
    PRIMARY KEY (task_id, depends_on)
);
CREATE INDEX task_dependencies_depends_on_idx ON {schema}.task_dependencies (depends_on);

CREATE TABLE {schema}.queue_settings (
    name       text PRIMARY KEY,
    paused     boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- When a task that others wait on finishes: success releases them (and wakes
-- workers for those now runnable); failure or cancellation cancels them,
-- naming the dependency, and so on down the chain.
CREATE FUNCTION {schema}.settle_dependents() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    released integer;
BEGIN
    IF NEW.status = 'succeeded' THEN
        WITH freed AS (
            UPDATE {schema}.tasks SET pending_deps = pending_deps - 1
            WHERE id IN (SELECT task_id FROM {schema}.task_dependencies WHERE depends_on = NEW.id)
              AND status = 'queued'
            RETURNING queue, pending_deps
        )
        SELECT count(pg_notify(TG_ARGV[0], json_build_object('queue', queue)::text)) INTO released
        FROM freed WHERE pending_deps = 0;
    ELSE
        UPDATE {schema}.tasks
        SET status = 'cancelled', finished_at = now(), cancel_requested = true,
            last_error = 'Cancelled: dependency ' || NEW.id || ' ' || NEW.status
        WHERE id IN (SELECT task_id FROM {schema}.task_dependencies WHERE depends_on = NEW.id)
          AND status = 'queued';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER tasks_settle_dependents AFTER UPDATE OF status ON {schema}.tasks
    FOR EACH ROW
    WHEN (NEW.has_dependents AND OLD.status IS DISTINCT FROM NEW.status
          AND NEW.status IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION {schema}.settle_dependents({channel});

-- Each failed attempt's error, newest last (the most recent 20), for operators.
CREATE FUNCTION {schema}.keep_recent_errors(errors jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_agg(e ORDER BY n), '[]')
    FROM jsonb_array_elements(errors) WITH ORDINALITY AS a(e, n)
    WHERE n > jsonb_array_length(errors) - 20
$$;
