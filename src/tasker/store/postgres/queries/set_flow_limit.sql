INSERT INTO {schema}.flow_limits (scope, name, concurrency_limit, rate_count, rate_period)
VALUES (%(scope)s, %(name)s, %(concurrency_limit)s, %(rate_count)s, %(rate_period)s)
ON CONFLICT (scope, name) DO UPDATE
SET concurrency_limit = excluded.concurrency_limit, rate_count = excluded.rate_count,
    rate_period = excluded.rate_period, updated_at = now()
