(:action IS NULL
 OR (:action = 'cancel' AND t.status IN {can_cancel} AND NOT t.cancel_requested AND (t.status = 'queued' OR t.cancellable))
 OR (:action = 'retry' AND t.status IN {can_retry})
 OR (:action = 'run_now' AND t.status IN {can_run_now} AND t.run_at > :now)
 OR (:action = 'delete' AND t.status IN {can_delete}))
