INSERT INTO flow_limits (scope, name, concurrency_limit, rate_count, rate_period, updated_at)
VALUES (:scope, :name, :concurrency_limit, :rate_count, :rate_period, :now)
ON CONFLICT (scope, name) DO UPDATE
SET concurrency_limit = excluded.concurrency_limit, rate_count = excluded.rate_count,
    rate_period = excluded.rate_period, updated_at = excluded.updated_at
