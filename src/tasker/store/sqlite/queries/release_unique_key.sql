-- Debounce: once the holder of a unique key has started, a replacing create makes a new task;
-- the running holder gives up its key (it keeps running, its unique_key is then null).
UPDATE tasks SET unique_key = NULL
WHERE unique_key = :unique_key AND status = 'running'
