-- Starts older than the longest rate period (an hour) count against no limit.
DELETE FROM flow_starts WHERE at < :now - 3600
