(%(action)s::text IS NULL
 OR (%(action)s::text = 'cancel' AND t.status IN {can_cancel} AND NOT t.cancel_requested AND (t.status = 'queued' OR t.cancellable))
 OR (%(action)s::text = 'retry' AND t.status IN {can_retry})
 OR (%(action)s::text = 'run_now' AND t.status IN {can_run_now} AND t.run_at > now())
 OR (%(action)s::text = 'delete' AND t.status IN {can_delete}))
