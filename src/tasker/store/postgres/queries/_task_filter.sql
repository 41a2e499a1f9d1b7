(%(status)s::text IS NULL OR t.status = %(status)s::text)
-- Always true (pending_deps is never negative), but it lets queued tasks be read from the two
-- partial indexes that hold them, tasks_due_idx and tasks_blocked_idx (migration 009).
AND (%(status)s::text IS DISTINCT FROM 'queued' OR t.pending_deps = 0 OR t.pending_deps > 0)
AND (%(type)s::text IS NULL OR t.type = %(type)s::text)
AND (%(queue)s::text IS NULL OR t.queue = %(queue)s::text)
AND (%(series_id)s::uuid IS NULL OR t.series_id = %(series_id)s::uuid)
AND (%(ids)s::uuid[] IS NULL OR t.id = ANY(%(ids)s::uuid[]))
AND (%(upto)s::uuid IS NULL OR t.id <= %(upto)s::uuid)
AND (%(error)s::text IS NULL OR t.last_error IS NOT NULL)
