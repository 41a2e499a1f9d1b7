DELETE FROM {schema}.tasks
WHERE status IN {finished}
  AND (%(older_than)s::float8 IS NULL OR finished_at < now() - make_interval(secs => %(older_than)s::float8))
