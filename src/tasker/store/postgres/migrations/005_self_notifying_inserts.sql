-- Inserts announce themselves. The statement trigger's transition table cost
-- a third of a bulk COPY's time, so each statement that inserts tasks now
-- sends its notification itself, in the same transaction: it still goes out
-- only on commit.
DROP TRIGGER tasks_notify_insert ON {schema}.tasks;
DROP FUNCTION {schema}.notify_new_tasks();
