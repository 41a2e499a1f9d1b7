-- Each failed attempt's error, newest last (the most recent 20), for operators.
ALTER TABLE tasks ADD COLUMN errors TEXT NOT NULL DEFAULT '[]';
