"""Importing the project's task modules, so a worker has a handler for each of its tasks."""
from __future__ import annotations

import importlib

from django.utils.module_loading import autodiscover_modules

from .project import options


def import_task_modules() -> None:
    """Every installed app's ``tasks`` module, and ``TASKER["TASK_MODULES"]``: importing a
    module runs its ``@task`` decorators, which register the tasks with the backend."""
    autodiscover_modules("tasks")
    for name in options().get("TASK_MODULES") or ():
        importlib.import_module(name)
