"""The storage protocol: every operation Tasker needs, by name, with typed records.

Both stores implement all of it; the conformance suite runs against each.
Times cross this boundary as epoch seconds (floats) or aware datetimes in
``Task``; the store's own clock decides what is due.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from ..enqueue import NewTask
from ..series import Schedule, ScheduleSpec, SeriesRow
from ..task import Task, TaskStatus, WorkerState


@dataclass(frozen=True)
class ClaimedTask:
    """A task a worker now holds: running, fenced by ``claim_token``."""

    id: str
    claim_token: str
    type: str
    payload: Any
    attempts: int
    max_attempts: int
    timeout: float
    retry_delay: float | None
    queue: str
    priority: int
    meta: dict | None


@dataclass(slots=True)
class Outcome:
    """What to write back for one attempt. Applied only while the claim token still matches."""

    task_id: str
    claim_token: str
    status: TaskStatus            # succeeded, failed, cancelled, or queued (to run again)
    result_json: str | None = None
    error: str | None = None
    retry_in: float = 0.0         # for queued: seconds from the store's now
    refund_attempt: bool = False  # queued without using up the attempt (shutdown, snooze)
    progress_json: str | None = None  # the handler's last progress report, if any
    duration: float | None = None     # seconds the handler ran: started_at becomes finish - duration


@dataclass(frozen=True)
class HeldClaim:
    """A running task the store says a worker holds (from its heartbeat)."""

    id: str
    claim_token: str
    cancel_requested: bool
    age: float            # seconds since it was claimed


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    hostname: str
    pid: int
    queues: str
    concurrency: int


@dataclass(frozen=True)
class Wakeup:
    """A hint that work may be due: its queue and its earliest run time, if known."""

    queue: str | None = None
    run_at: float | None = None


TickPlanner = Callable[[SeriesRow, float, float], "tuple[list[float], float | None]"]


class Listener(Protocol):
    async def stop(self) -> None: ...


class Store(Protocol):
    """One named method per operation."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...

    # schema
    async def migrate(self) -> list[int]: ...
    async def schema_version(self) -> int | None: ...
    async def drop_schema(self) -> None: ...

    # producing
    async def insert_tasks(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]: ...
    def insert_tasks_blocking(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        """The same for sync callers: from any thread, without an event loop."""

    # inspecting and controlling
    async def get_task(self, task_id: str) -> Task | None: ...
    async def list_tasks(self, status: str | None, type: str | None, queue: str | None, limit: int) -> list[Task]: ...
    async def cancel_task(self, task_id: str) -> bool: ...
    async def cleanup(self, older_than: float | None) -> int: ...
    async def stats(self) -> dict[str, Any]: ...
    async def retry_task(self, task_id: str) -> bool: ...
    async def run_task_now(self, task_id: str) -> bool: ...
    async def delete_task(self, task_id: str) -> bool: ...
    async def list_workers(self) -> list[WorkerState]: ...
    async def throughput(self, window: float) -> list[tuple[float, str, int]]: ...
    async def oldest_queued(self) -> dict[str, float]: ...
    async def recent_durations(self, window: float, limit: int) -> list[tuple[str, str, float, float]]: ...
    async def set_queue_paused(self, name: str, paused: bool) -> None: ...
    async def paused_queues(self) -> list[str]: ...

    # consuming
    async def claim_tasks(self, worker_id: str, types: Sequence[str], queues: Sequence[str] | None, limit: int) -> list[ClaimedTask]: ...
    async def complete_tasks(self, outcomes: Sequence[Outcome]) -> list[str]: ...
    async def next_run_at(self, types: Sequence[str], queues: Sequence[str] | None) -> float | None: ...
    async def save_progress(self, items: Sequence[tuple[str, str, str]]) -> None: ...
    async def listen(self, on_wakeup: Callable[[Wakeup], None]) -> Listener: ...

    # recurring series
    async def insert_schedule(self, spec: "ScheduleSpec") -> str: ...
    async def list_schedules(self, include_cancelled: bool) -> list["Schedule"]: ...
    async def cancel_schedule(self, schedule_id: str) -> bool: ...
    async def materialize_schedules(self, now: float, lookahead: float, plan: "TickPlanner") -> int: ...

    # workers
    async def heartbeat(self, worker: WorkerInfo) -> list[HeldClaim]: ...
    async def unregister_worker(self, worker_id: str) -> None: ...
    async def rescue_tasks(self, lease: float) -> list[str]: ...
    async def now(self) -> float: ...
