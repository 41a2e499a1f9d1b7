"""No Django models: Tasker keeps its own tables. This module lets ``manage.py migrate`` signal
this app (``post_migrate`` skips apps without one), so it makes Tasker's schema too."""
