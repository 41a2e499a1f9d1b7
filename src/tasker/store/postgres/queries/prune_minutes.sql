-- Per-minute finish counts older than the chart can ask for (limits.ACTIVITY_KEPT_DAYS).
DELETE FROM {schema}.task_minutes WHERE minute < now() - interval '{activity_kept_days} days'
