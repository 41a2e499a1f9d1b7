-- An after-finish series waits (cursor_at NULL) while its run is outstanding;
-- once that run has finished, its next tick is `every` after the finish.
UPDATE {schema}.schedules AS s
SET cursor_at = coalesce((SELECT max(t.finished_at) FROM {schema}.tasks AS t WHERE t.series_id = s.id), now())
                + make_interval(secs => s.every_seconds)
WHERE s.status = 'active' AND s.mode = 'after_finish' AND s.cursor_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM {schema}.tasks AS t WHERE t.series_id = s.id AND t.status IN ('queued', 'running'))
