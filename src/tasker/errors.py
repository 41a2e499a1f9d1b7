"""Errors raised by Tasker's public API."""
from __future__ import annotations


class TaskerError(Exception):
    """Base class of every error Tasker raises on purpose."""


class SchemaMissingError(TaskerError):
    """The database has no Tasker schema yet (or an older one): run ``tasker migrate``."""


class SchemaTooNewError(TaskerError):
    """The database was migrated by a newer Tasker than this one."""


class UnknownTaskError(TaskerError, LookupError):
    """An operation named a task id that does not exist."""


class TaskFailedError(TaskerError):
    """``app.result`` of a task that ended ``failed``; carries its last error."""

    def __init__(self, task_id: str, last_error: str | None):
        super().__init__(f"task {task_id} failed: {last_error}")
        self.task_id = task_id
        self.last_error = last_error


class TaskCancelledError(TaskerError):
    """``app.result`` of a task that ended ``cancelled``."""

    def __init__(self, task_id: str, reason: str | None = None):
        super().__init__(f"task {task_id} was cancelled" + (f": {reason}" if reason else ""))
        self.task_id = task_id
        self.reason = reason
