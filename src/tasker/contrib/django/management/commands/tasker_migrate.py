"""``python manage.py tasker_migrate``: create or upgrade Tasker's schema."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...project import tasker


class Command(BaseCommand):
    help = "Create or upgrade Tasker's schema in the project's store (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        app = tasker()
        applied = app.migrate()
        self.stdout.write(f"Tasker schema ready in {app.config.display}" + (f" (applied {applied})" if applied else ""))
