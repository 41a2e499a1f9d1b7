"""Optional integrations with other tools; each needs its extra (``pip install tasker-queue[NAME]``)."""
