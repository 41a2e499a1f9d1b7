"""The Django app config: Tasker's schema follows ``manage.py migrate`` when it shares Django's database."""
from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TaskerConfig(AppConfig):
    name = "tasker.contrib.django"
    label = "tasker"
    verbose_name = "Tasker"

    def ready(self) -> None:
        post_migrate.connect(_migrate_shared_store, sender=self)


def _migrate_shared_store(using: str = "default", **kwargs: Any) -> None:
    """``migrate`` (and the test runner's test database) also makes Tasker's schema when
    Tasker lives in Django's default database; a store elsewhere has ``tasker_migrate``."""
    from .project import in_django_database, tasker

    if using == "default" and in_django_database():
        tasker().migrate()
