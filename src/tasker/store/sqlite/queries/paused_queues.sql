SELECT name FROM queue_settings WHERE paused ORDER BY name
