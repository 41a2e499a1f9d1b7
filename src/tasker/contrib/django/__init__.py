"""Django integration (``pip install tasker-queue[django]``): a tasks backend, an app, a dashboard view.

In ``settings.py``::

    INSTALLED_APPS = [..., "tasker.contrib.django"]
    TASKS = {"default": {"BACKEND": "tasker.contrib.django.TaskerBackend"}}
    TASKER = {"CONCURRENCY": 10}      # optional: "URL", "SCHEMA", "QUEUES", "MAX_ATTEMPTS", "TIMEOUT",
                                      # "LEASE", "TASK_MODULES"
    TEST_RUNNER = "tasker.contrib.django.testing.TaskerTestRunner"

and in ``urls.py``, the dashboard for staff users (``tasker.contrib.django.dashboard``)::

    urlpatterns = [..., path("tasker/", include(dashboard_urls()))]

Tasks are Django's own (``django.tasks`` on Django 6, the ``django_tasks`` backport on 4.2 to
5.2)::

    @task(priority=10, queue_name="default")
    def send_welcome(user_id): ...

    result = send_welcome.enqueue(42)        # a TaskResult; result.refresh(), result.status
    python manage.py tasker_migrate          # the schema (also made by `manage.py migrate`
                                             # when Tasker shares Django's database)
    python manage.py tasker_worker --concurrency 4 --queue default     # --reload while developing

With no ``URL`` and Django's default database on PostgreSQL (psycopg 3), Tasker keeps its
tables in that database (schema ``tasker``) and writes each task on Django's own connection:
a task enqueued inside ``transaction.atomic()`` exists only if the block commits, and the
commit wakes a worker. ``tasker.contrib.django.app`` is the project's ``Tasker``; register
plain Tasker handlers on it too.
"""
from __future__ import annotations

from typing import Any

__all__ = ["TaskerBackend", "app"]


def __getattr__(name: str) -> Any:
    # Lazy: importing the package (INSTALLED_APPS does) reads no settings and opens nothing.
    if name == "TaskerBackend":
        from .backend import TaskerBackend

        return TaskerBackend
    if name == "app":
        from .project import tasker

        return tasker()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
