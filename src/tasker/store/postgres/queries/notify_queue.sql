SELECT pg_notify({channel}, json_build_object('queue', %(queue)s::text)::text)
