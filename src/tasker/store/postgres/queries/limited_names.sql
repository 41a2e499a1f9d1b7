-- What is under flow limits, by scope and name: the worker's cheap look before a limited claim.
SELECT scope, name FROM {schema}.flow_limits
