-- What cleanup.sql would delete, counted (cleanup --dry-run).
SELECT count(*) AS n FROM {schema}.tasks
WHERE status IN {finished}
  AND (%(before)s::float8 IS NULL OR finished_at < to_timestamp(%(before)s::float8))
  AND (%(status)s::text IS NULL OR status = %(status)s::text)
  AND (%(type)s::text IS NULL OR type = %(type)s::text)
