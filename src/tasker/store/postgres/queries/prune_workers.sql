DELETE FROM {schema}.workers WHERE last_seen < now() - make_interval(secs => %(lease)s)
