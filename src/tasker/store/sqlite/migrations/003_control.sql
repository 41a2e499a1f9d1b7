-- Dependencies, progress and pausable queues.
ALTER TABLE tasks ADD COLUMN pending_deps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN has_dependents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN progress TEXT;

-- Tasks waiting on dependencies stay out of the hot index.
DROP INDEX tasks_due_idx;
CREATE INDEX tasks_due_idx ON tasks (priority DESC, run_at, id) WHERE status = 'queued' AND pending_deps = 0;

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
