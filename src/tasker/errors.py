"""Errors raised by Tasker's public API."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


class TaskerError(Exception):
    """Base class of every error Tasker raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: which field, and why."""

    field: str          # the parameter's name: "payload", "run_at", "queue", ...
    message: str
    kind: type[Exception] = ValueError   # TypeError for a value of the wrong type


class InputError(TaskerError):
    """Input refused before anything was stored; ``problems`` names each field.

    Raised as ``InvalidValue`` (a ``ValueError``) or ``InvalidType`` (a
    ``TypeError``), after the first problem, so ``except ValueError`` works as
    for any bad argument.

    >>> try:
    ...     app.create("t", max_attempts=0, queue="")
    ... except InputError as exc:
    ...     [(p.field, p.message) for p in exc.problems]
    [('queue', 'queue must not be empty'), ('max_attempts', 'max_attempts must be >= 1, got 0')]
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @property
    def field(self) -> str:
        return self.problems[0].field


class InvalidValue(InputError, ValueError):
    """An input with a value out of bounds or malformed."""


class InvalidType(InputError, TypeError):
    """An input of the wrong type."""


def input_error(problems: Sequence[Problem]) -> InputError:
    """The error for these problems, of the first one's kind."""
    return (InvalidType if problems[0].kind is TypeError else InvalidValue)(problems)


class StoreUnavailableError(TaskerError):
    """The store cannot be reached or opened: PostgreSQL refuses the connection, a SQLite file
    cannot be opened, or (for commands that only read) the SQLite file does not exist.

    >>> try:
    ...     Tasker("postgresql://app@db.invalid/app").stats()
    ... except StoreUnavailableError as exc:
    ...     print(exc)        # cannot connect to PostgreSQL at postgresql://app@db.invalid/app: ...
    """


class SchemaMissingError(TaskerError):
    """The database has no Tasker schema yet (or an older one): run ``tasker migrate``."""


class SchemaTooNewError(TaskerError):
    """The database was migrated by a newer Tasker than this one."""


class UnknownTaskError(TaskerError, LookupError):
    """An operation named a task id that does not exist (``field``: the argument that named it)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


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
