-- For the claim connection only: a claim lost in a database crash merely lets
-- the task run again (outcomes stay durably committed), and not waiting for
-- the WAL flush halves the time a claim takes.
SET synchronous_commit = off
