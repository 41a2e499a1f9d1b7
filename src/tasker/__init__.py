"""Tasker: durable background tasks for Python, on PostgreSQL or embedded SQLite.

>>> from tasker import Tasker
>>> app = Tasker()
>>> @app.handler()
... def send_email(payload):
...     ...
>>> app.create("send_email", {"to": "ada@example.com"})
"""
from .app import Tasker
from .context import TaskContext
from .errors import (
    InputError,
    SchemaMissingError,
    SchemaTooNewError,
    StoreUnavailableError,
    TaskCancelledError,
    TaskerError,
    TaskFailedError,
    UnknownTaskError,
)
from .series import Schedule
from .task import Task, TaskStatus, WorkerState
from .worker.events import Creation, TaskEvent
from .outcome import Fail, Retry, Snooze
from .worker.one_pass import PassSummary

__all__ = [
    "Fail",
    "InputError",
    "PassSummary",
    "Retry",
    "Schedule",
    "SchemaMissingError",
    "SchemaTooNewError",
    "Snooze",
    "StoreUnavailableError",
    "Task",
    "TaskCancelledError",
    "TaskContext",
    "Creation",
    "TaskEvent",
    "TaskFailedError",
    "TaskStatus",
    "Tasker",
    "TaskerError",
    "UnknownTaskError",
    "WorkerState",
]
