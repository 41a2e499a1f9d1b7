"""``python manage.py tasker_worker [--concurrency N] [--queue NAME] [--reload]``: run the project's tasks."""
from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...discovery import import_task_modules
from ...project import options, tasker

RELOAD_GRACE = 30.0   # seconds running tasks get to finish before a reload restarts the process


class Command(BaseCommand):
    help = "Run a Tasker worker for the project's tasks until SIGINT/SIGTERM."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--concurrency", "-c", type=int, help="Tasks run at once (default: TASKER['CONCURRENCY'] or 10).")
        parser.add_argument("--queue", "-q", action="append", dest="queues", metavar="NAME",
                            help="Queue to serve (repeatable; default: TASKER['QUEUES'], else every queue).")
        parser.add_argument("--reload", action="store_true",
                            help="Restart when a Python file changes, as runserver does (development); "
                                 "running tasks finish first.")

    def handle(self, *args: Any, **given: Any) -> None:
        settings = options()
        concurrency = given.get("concurrency") or settings.get("CONCURRENCY") or 10
        if concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        queues = given.get("queues") or settings.get("QUEUES") or None
        if given.get("reload"):
            from django.utils import autoreload

            autoreload.run_with_reloader(self.run_reloadable, int(concurrency), queues)
        else:
            self.run(int(concurrency), queues)

    def run(self, concurrency: int, queues: list[str] | None) -> None:
        import_task_modules()
        app = tasker()
        self.stderr.write(f"Tasker worker on {app.config.display}: {len(app.handlers)} task type(s), "
                          f"queues {', '.join(queues) if queues else 'all'}, concurrency {concurrency}")
        try:
            app.run_worker(concurrency=concurrency, queues=list(queues) if queues else None)
        except RuntimeError as exc:    # no task types to run, most often
            raise CommandError(str(exc)) from None
        finally:
            app.close()

    def run_reloadable(self, concurrency: int, queues: list[str] | None) -> None:
        """``run`` in the autoreloader's child: a changed file stops the worker gracefully
        (its tasks finish and are recorded) before the process restarts."""
        from django.utils.autoreload import file_changed

        stopped = threading.Event()

        def stop_first(sender: Any, file_path: Any, **kwargs: Any) -> None:
            self.stderr.write(f"{file_path} changed: stopping the worker, then reloading")
            tasker().stop_workers()
            stopped.wait(RELOAD_GRACE)

        file_changed.connect(stop_first, weak=False)
        try:
            self.run(concurrency, queues)
        finally:
            stopped.set()
