SELECT pg_notify(%(channel)s, %(id)s)
