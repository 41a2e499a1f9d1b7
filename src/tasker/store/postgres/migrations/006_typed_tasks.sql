-- Handlers that must not be interrupted (cancellable=False): a running task of such a type
-- is not cancelled (a queued one still is). Stored with the task and its series, because
-- the process that cancels need not have the handler registered.
ALTER TABLE {schema}.tasks ADD COLUMN cancellable boolean NOT NULL DEFAULT true;
ALTER TABLE {schema}.schedules ADD COLUMN cancellable boolean NOT NULL DEFAULT true;
-- Headers travel with a task for its producer's and its attempts' instrumentation
-- (W3C trace context, Sentry baggage...): set when it is created, added to by attempts.
ALTER TABLE {schema}.tasks ADD COLUMN headers jsonb;
ALTER TABLE {schema}.schedules ADD COLUMN headers jsonb;
-- The task types each worker handles, so that queued types no live worker handles show.
ALTER TABLE {schema}.workers ADD COLUMN types text[] NOT NULL DEFAULT '{}';
