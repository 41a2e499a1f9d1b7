"""The task record, its statuses and the allowed state transitions."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class TaskStatus(str, enum.Enum):
    """Where a task is in its life: ``queued`` -> ``running`` -> a terminal status.

    >>> TaskStatus("queued") is TaskStatus.QUEUED
    True
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        """True for the terminal statuses, which nothing moves a task out of."""
        return self in TERMINAL


STATUSES = tuple(s.value for s in TaskStatus)
TERMINAL = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED})
LIVE = frozenset({TaskStatus.QUEUED, TaskStatus.RUNNING})   # while a unique key is held

# What an operator may do to a task, by its status: the one table behind
# app.cancel / retry / run_now / delete (the stores' statements read it too),
# the CLI's refusals, the dashboard's buttons and the JSON API's 409s.
ACTIONS: dict[str, frozenset[TaskStatus]] = {
    "cancel": LIVE,
    "retry": frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED}),
    "run_now": frozenset({TaskStatus.QUEUED}),
    "delete": frozenset(TaskStatus) - {TaskStatus.RUNNING},   # a running task's worker would write to nothing
}
ACTION_NAMES = {"cancel": "cancelled", "retry": "retried", "run_now": "made due now", "delete": "deleted"}


def allows(action: str, task: "Task") -> bool:
    """Whether ``action`` applies to ``task`` as it is now (a cancellation already asked for is not
    asked again; a running task whose handler is not cancellable is left to finish)."""
    if action == "cancel" and (task.cancel_requested or (task.status is TaskStatus.RUNNING and not task.cancellable)):
        return False
    return task.status in ACTIONS[action]


def refusal(action: str, status: TaskStatus) -> str:
    """Why ``action`` does not apply to a task in ``status``, in words ("it is queued, not failed or cancelled")."""
    allowed = [s.value for s in TaskStatus if s in ACTIONS[action]]
    if len(allowed) == len(TaskStatus) - 1:
        return f"it is {status.value}: a {status.value} task cannot be {ACTION_NAMES[action]}"
    already = "already " if status.finished else ""
    listed = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
    return f"it is {already}{status.value}, not {listed}"


def unhandled_types(queued: dict[str, int], workers: list[WorkerState], now: datetime, lease: float) -> dict[str, int]:
    """Queued task types that no live worker (one seen within ``lease`` seconds) has a handler for."""
    handled = {t for w in workers if (now - w.last_seen).total_seconds() <= lease for t in w.types}
    return {type_: n for type_, n in sorted(queued.items()) if type_ not in handled}


BULK_ACTIONS = tuple(ACTIONS)   # what app.bulk may do to a selection of tasks


def sql_statuses(statuses: frozenset[TaskStatus]) -> str:
    """A set of statuses as a parenthesized SQL list, for the stores' named statements."""
    return "(" + ", ".join(f"'{s.value}'" for s in TaskStatus if s in statuses) + ")"


@dataclass(frozen=True)
class Task:
    """A snapshot of one task as stored, returned by ``app.get`` and ``app.list``.

    >>> task = app.get(task_id)
    >>> task.status, task.attempts, task.last_error
    """

    id: str
    type: str
    payload: Any
    status: TaskStatus
    attempts: int
    max_attempts: int
    priority: int
    queue: str
    run_at: datetime
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_error: str | None = None
    result: Any = None
    unique_key: str | None = None
    meta: dict | None = None
    timeout: float = 300.0
    retry_delay: float | None = None
    worker_id: str | None = None
    cancel_requested: bool = False
    series_id: str | None = None       # the recurring series this run belongs to
    fire_time: datetime | None = None  # the series tick it runs for
    progress: Any = None               # the latest value a handler gave ctx.progress()
    pending_dependencies: int = 0      # dependencies not yet succeeded
    errors: list = field(default_factory=list)  # failed attempts, newest last: {attempt, at, error}
    cancellable: bool = True           # False: once running, cancel leaves it be (its handler said so)
    headers: dict | None = None        # instrumentation that travels with it (trace context...)


@dataclass(frozen=True)
class WorkerState:
    """A worker process as seen in the store (``app.workers()``)."""

    id: str
    hostname: str
    pid: int
    queues: str
    concurrency: int
    started_at: datetime
    last_seen: datetime
    running: int
    types: list[str] = field(default_factory=list)   # the task types it has handlers for


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks a listing, count or bulk action covers: every field given must match.

    ``error`` is a case-insensitive substring of ``last_error``; ``ids`` picks tasks by id;
    ``upto`` keeps tasks no newer than that task id (ids are time-ordered), so a selection
    confirmed by an operator does not grow with the tasks created after it.
    """

    status: str | None = None
    type: str | None = None
    queue: str | None = None
    error: str | None = None
    series_id: str | None = None
    ids: tuple[str, ...] | None = None
    upto: str | None = None


@dataclass(frozen=True)
class TaskPage:
    """One page of a listing, newest first (``app.page``).

    ``next``: pass it as ``after=`` for the following page (None: this was the last).
    ``scan_limited``: an error search read its ``scan`` budget of tasks before filling the
    page, so ``next`` resumes the search further back rather than after the last task shown.

    >>> page = app.page(status="failed", limit=50)
    >>> older = app.page(status="failed", limit=50, after=page.next)
    """

    tasks: list[Task]
    next: str | None = None
    scan_limited: bool = False
