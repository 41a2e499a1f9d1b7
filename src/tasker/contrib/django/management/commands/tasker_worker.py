"""``python manage.py tasker_worker [--concurrency N] [--queue NAME]``: run the project's tasks."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...discovery import import_task_modules
from ...project import options, tasker


class Command(BaseCommand):
    help = "Run a Tasker worker for the project's tasks until SIGINT/SIGTERM."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--concurrency", "-c", type=int, help="Tasks run at once (default: TASKER['CONCURRENCY'] or 10).")
        parser.add_argument("--queue", "-q", action="append", dest="queues", metavar="NAME",
                            help="Queue to serve (repeatable; default: TASKER['QUEUES'], else every queue).")

    def handle(self, *args: Any, **given: Any) -> None:
        import_task_modules()
        settings = options()
        concurrency = given.get("concurrency") or settings.get("CONCURRENCY") or 10
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        queues = given.get("queues") or settings.get("QUEUES") or None
        app = tasker()
        self.stderr.write(f"Tasker worker on {app.config.display}: {len(app.handlers)} task type(s), "
                          f"queues {', '.join(queues) if queues else 'all'}, concurrency {concurrency}")
        try:
            app.run_worker(concurrency=int(concurrency), queues=list(queues) if queues else None)
        except RuntimeError as exc:    # no task types to run, most often
            raise CommandError(str(exc)) from None
        finally:
            app.close()
