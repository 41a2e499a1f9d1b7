-- Limited claims one at a time (per schema), each seeing the one before: held to the commit.
SELECT pg_advisory_xact_lock(hashtext(%(key)s))
