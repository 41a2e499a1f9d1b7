-- Starts older than the longest rate period (an hour) count against no limit.
DELETE FROM {schema}.flow_starts WHERE at < now() - interval '1 hour'
