-- One batch of a cleanup (the ids deleted): the caller repeats it until a batch comes back short.
-- SKIP LOCKED leaves rows another session is changing (a retry) to that session.
DELETE FROM {schema}.tasks
WHERE id IN (
    SELECT id FROM {schema}.tasks
    WHERE status IN {finished}
      AND (%(before)s::float8 IS NULL OR finished_at < to_timestamp(%(before)s::float8))
      AND (%(status)s::text IS NULL OR status = %(status)s::text)
      AND (%(type)s::text IS NULL OR type = %(type)s::text)
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
RETURNING id
