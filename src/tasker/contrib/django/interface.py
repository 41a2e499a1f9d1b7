"""Django's tasks interface, wherever this Django has it: ``django.tasks`` (Django 6) or the
``django_tasks`` backport (Django 4.2 to 5.2). Every other module reads the names from here."""
from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any


def _load() -> Any:
    try:
        base = importlib.import_module("django.tasks.backends.base")
        root = "django.tasks"
        invalid = "InvalidTask"
    except ImportError:
        try:
            base = importlib.import_module("django_tasks.backends.base")
        except ImportError:
            raise ImportError(
                "tasker.contrib.django needs Django's tasks framework: Django 6 or later, "
                "or the django-tasks backport (pip install tasker-queue[django])"
            ) from None
        root = "django_tasks"
        invalid = "InvalidTaskError"
    tasks = importlib.import_module(f"{root}.base")
    exceptions = importlib.import_module(f"{root}.exceptions")
    signals = importlib.import_module(f"{root}.signals")
    return SimpleNamespace(
        module=root,
        BaseTaskBackend=base.BaseTaskBackend,
        Task=tasks.Task,
        TaskResult=tasks.TaskResult,
        TaskResultStatus=tasks.TaskResultStatus,
        TaskContext=tasks.TaskContext,
        TaskError=tasks.TaskError,
        InvalidTask=getattr(exceptions, invalid),
        TaskResultDoesNotExist=exceptions.TaskResultDoesNotExist,
        task_enqueued=signals.task_enqueued,
        task_started=signals.task_started,
        task_finished=signals.task_finished,
    )


django_tasks: Any = _load()
