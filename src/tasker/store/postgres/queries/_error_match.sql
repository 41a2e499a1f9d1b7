(%(error)s::text IS NULL OR strpos(lower(t.last_error), lower(%(error)s::text)) > 0)
