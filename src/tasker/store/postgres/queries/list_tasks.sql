-- A page of tasks, newest first. Ids are time-ordered (UUIDv7), so the primary key or a
-- filter's index (migration 007) yields them in order and a page reads about its own rows
-- however deep it is (keyset: id < after, never OFFSET). Planned with the values at hand
-- (the driver never prepares it), so an absent filter folds away.
-- "scan" bounds the rows read: an error search reads only tasks that have an error
-- (tasks_error_list_idx), at most "scan" of them; without one every row read matches and
-- "scan" is the page size plus one. "n" numbers the rows read; the last one and the one
-- after it come back even without a match, so the page can say where the search stopped
-- and whether anything is left beyond.
SELECT {task_columns}, s.hit, s.n
FROM (
    SELECT t.id, {error_match} AS hit, row_number() OVER (ORDER BY t.id DESC) AS n
    FROM {schema}.tasks AS t
    WHERE {task_filter}
      AND (%(after)s::uuid IS NULL OR t.id < %(after)s::uuid)
    ORDER BY t.id DESC
    LIMIT %(scan)s::bigint + 1
) AS s
JOIN {schema}.tasks AS t ON t.id = s.id
WHERE (s.hit AND s.n <= %(scan)s::bigint) OR s.n >= %(scan)s::bigint
ORDER BY s.id DESC
LIMIT %(limit)s::bigint + 2
