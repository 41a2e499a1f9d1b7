-- Each failed attempt's error, newest last (the most recent 20), for operators.
ALTER TABLE {schema}.tasks ADD COLUMN errors jsonb NOT NULL DEFAULT '[]';

CREATE FUNCTION {schema}.keep_recent_errors(errors jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_agg(e ORDER BY n), '[]')
    FROM jsonb_array_elements(errors) WITH ORDINALITY AS a(e, n)
    WHERE n > jsonb_array_length(errors) - 20
$$;
