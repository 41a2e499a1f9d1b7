-- Handlers that must not be interrupted (cancellable=False): a running task of such a type
-- is not cancelled (a queued one still is). Stored with the task and its series, because
-- the process that cancels need not have the handler registered.
ALTER TABLE tasks ADD COLUMN cancellable INTEGER NOT NULL DEFAULT 1;
ALTER TABLE schedules ADD COLUMN cancellable INTEGER NOT NULL DEFAULT 1;
-- Headers travel with a task for its producer's and its attempts' instrumentation
-- (W3C trace context, Sentry baggage...): set when it is created, added to by attempts.
ALTER TABLE tasks ADD COLUMN headers TEXT;
ALTER TABLE schedules ADD COLUMN headers TEXT;
-- The task types each worker handles (a JSON array), so that queued types no live worker handles show.
ALTER TABLE workers ADD COLUMN types TEXT NOT NULL DEFAULT '[]';
