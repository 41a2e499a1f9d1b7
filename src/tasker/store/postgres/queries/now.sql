SELECT extract(epoch FROM now())::float8 AS now
