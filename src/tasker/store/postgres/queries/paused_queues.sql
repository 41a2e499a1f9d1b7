SELECT name FROM {schema}.queue_settings WHERE paused ORDER BY name
