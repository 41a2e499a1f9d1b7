DELETE FROM workers WHERE last_seen < :now - :lease
