-- A page of tasks, newest first. Ids are time-ordered (UUIDv7), so walking the primary key
-- backwards from the cursor (id < after: a range on the key, never OFFSET) yields them in
-- order, each filter checked on the way. "scan" bounds the rows read (SQLite materializes
-- the subquery): an error search reads only tasks that have an error, at most "scan" of
-- them; without one every row read matches and "scan" is the page size plus one. "n"
-- numbers the rows read; the last one and the one after it come back even without a
-- match, so the page can say where the search stopped and whether anything is left beyond.
-- ('~' sorts after every id: the open end of a range.)
SELECT {task_columns}, s.hit, s.n
FROM (
    SELECT t.id, {error_match} AS hit, row_number() OVER (ORDER BY t.id DESC) AS n
    FROM tasks AS t
    WHERE {task_filter}
      AND t.id < coalesce(:after, '~')
    ORDER BY t.id DESC
    LIMIT :scan + 1
) AS s
JOIN tasks AS t ON t.id = s.id
WHERE (s.hit AND s.n <= :scan) OR s.n >= :scan
ORDER BY s.id DESC
LIMIT :limit + 2
