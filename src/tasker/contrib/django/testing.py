"""Django's test runner, closing the project's Tasker before the test database is dropped.

When Tasker shares Django's PostgreSQL database its connections would otherwise keep the test
database open, and PostgreSQL refuses to drop it. In ``settings.py``::

    TEST_RUNNER = "tasker.contrib.django.testing.TaskerTestRunner"
"""
from __future__ import annotations

from typing import Any

from django.test.runner import DiscoverRunner

from .project import close


class TaskerTestRunner(DiscoverRunner):
    """``DiscoverRunner`` that closes Tasker's connections before tearing the databases down."""

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        close()
        super().teardown_databases(old_config, **kwargs)
