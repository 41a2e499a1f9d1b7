-- An after-finish series waits (cursor_at NULL) while its run is outstanding;
-- once that run has finished, its next tick is `every` after the finish.
UPDATE schedules
SET cursor_at = coalesce((SELECT max(t.finished_at) FROM tasks AS t WHERE t.series_id = schedules.id), :now)
                + every_seconds
WHERE status = 'active' AND mode = 'after_finish' AND cursor_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM tasks AS t WHERE t.series_id = schedules.id AND t.status IN ('queued', 'running'))
