DELETE FROM {schema}.flow_limits WHERE scope = %(scope)s AND name = %(name)s
