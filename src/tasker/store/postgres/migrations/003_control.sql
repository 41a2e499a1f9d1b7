-- Dependencies, progress and pausable queues.
ALTER TABLE {schema}.tasks ADD COLUMN pending_deps integer NOT NULL DEFAULT 0;
ALTER TABLE {schema}.tasks ADD COLUMN has_dependents boolean NOT NULL DEFAULT false;
ALTER TABLE {schema}.tasks ADD COLUMN progress jsonb;

-- Tasks waiting on dependencies stay out of the hot index.
DROP INDEX {schema}.tasks_due_idx;
CREATE INDEX tasks_due_idx ON {schema}.tasks (priority DESC, run_at, id) WHERE status = 'queued' AND pending_deps = 0;

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
