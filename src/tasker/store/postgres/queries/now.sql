SELECT extract(epoch FROM now())::float8
