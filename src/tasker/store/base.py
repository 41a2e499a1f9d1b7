"""The storage protocol: every operation the rest of Tasker calls, by name, with typed records.

Both stores implement all of it (``tests/unit/test_store_contract.py`` checks
the signatures against this protocol; the conformance suite checks the
behaviour on each). Times cross this boundary as epoch seconds (floats) or,
in records, aware UTC datetimes; the store's own clock decides what is due.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

from ..enqueue import NewTask
from ..series import Schedule, ScheduleSpec, SeriesRow
from ..tallies import Tally
from ..task import Task, TaskFilter, TaskPage, WorkerState
from .records import (
    BulkStep,
    ClaimedTask,
    FlowLimit,
    HeldClaim,
    MinuteCount,
    Outcome,
    ProgressReport,
    RecentAttempt,
    StoreTimings,
    Wakeup,
    WorkerInfo,
)

# Plans a series' ticks: (series, now, lookahead) -> (fire times to insert, next cursor).
TickPlanner = Callable[[SeriesRow, float, float], "tuple[list[float], float | None]"]


class Listener(Protocol):
    """A subscription to wake-ups and cancellations (``Store.listen``)."""

    async def stop(self) -> None: ...


class Store(Protocol):
    """One named method per operation. The same operation has the same name,
    and the same named statement (``queries/NAME.sql``), in every store."""

    timings: StoreTimings
    migrates_itself: bool   # True: opening migrates (embedded SQLite); False: check_schema refuses an old schema
    # Errors that mean "this data is refused" (it would be again), as opposed to an outage worth retrying.
    refusals: tuple[type[BaseException], ...]

    async def open(self) -> None: ...
    async def close(self) -> None: ...

    # schema
    async def migrate(self) -> list[int]: ...
    async def migrate_to(self, version: int | None) -> list[int]: ...
    async def schema_version(self) -> int | None: ...
    async def check_schema(self) -> None:
        """Raise ``SchemaMissingError`` (absent or older) or ``SchemaTooNewError``; never changes anything."""
    async def drop_schema(self) -> None: ...

    # producing
    async def insert_tasks(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]: ...
    def insert_tasks_blocking(self, tasks: Sequence[NewTask], connection: Any = None) -> list[str]:
        """The same for sync callers: from any thread, without an event loop."""

    # inspecting and controlling
    async def get_task(self, task_id: str) -> Task | None: ...
    async def list_tasks(self, selection: TaskFilter, after: str | None, limit: int, scan: int | None) -> TaskPage:
        """Tasks matching ``selection``, newest first (by id: ids are time-ordered), older than
        the task id ``after``. With an error filter at most ``scan`` tasks that have an error
        are read (None: no bound); the page then says where the search stopped."""
    async def count_tasks(self, selection: TaskFilter, action: str | None, cap: int | None) -> int:
        """How many tasks match (and, given an ``action``, would be changed by it); at most ``cap``."""
    async def act_on_tasks(self, action: str, selection: TaskFilter, after: str | None, limit: int) -> BulkStep:
        """One batch of a bulk action: the next ``limit`` matching tasks it applies to, newest
        first after ``after``, changed under the same rules as the one-task operations."""
    async def cancel_task(self, task_id: str) -> bool: ...
    async def cleanup(self, older_than: float | None, status: str | None, type: str | None, batch: int,
                      max_batches: int | None = None) -> int:
        """Delete finished tasks (of ``status`` and ``type`` when given) that finished more than
        ``older_than`` seconds ago (all when None), ``batch`` rows per statement, at most
        ``max_batches`` statements (all it takes when None); how many."""
    async def count_cleanup(self, older_than: float | None, status: str | None, type: str | None) -> int:
        """How many tasks ``cleanup`` with these filters would delete now."""
    async def stats(self) -> dict[str, Any]: ...
    async def retry_task(self, task_id: str) -> bool: ...
    async def run_task_now(self, task_id: str) -> bool: ...
    async def delete_task(self, task_id: str) -> bool: ...
    async def list_workers(self) -> list[WorkerState]: ...
    async def throughput(self, window: float) -> list[MinuteCount]: ...
    async def oldest_queued(self) -> dict[str, float]: ...
    async def recent_durations(self, window: float, limit: int) -> list[RecentAttempt]: ...
    async def set_queue_paused(self, name: str, paused: bool) -> None: ...
    async def paused_queues(self) -> list[str]: ...
    async def queued_types(self) -> dict[str, int]: ...
    async def set_flow_limit(self, scope: str, name: str, concurrency_limit: int | None,
                             rate: tuple[int, float] | None) -> None:
        """Store the limits of a task type or queue (``scope`` "type" or "queue"); both None: none."""
    async def flow_limits(self) -> list[FlowLimit]:
        """Every stored limit, with the tasks it holds back now."""
    async def read_tallies(self) -> list[Tally]:
        """The tallies of ended attempts and tasks (tasker/tallies.py), summed over shards."""

    # consuming
    async def claim_tasks(self, worker_id: str, types: Sequence[str], queues: Sequence[str] | None, limit: int) -> list[ClaimedTask]: ...
    async def claim_limited_tasks(self, worker_id: str, types: Sequence[str], queues: Sequence[str] | None,
                                  limit: int) -> list[ClaimedTask]:
        """Claim due tasks of limited types and queues (those ``claim_tasks`` leaves), within
        their limits across every worker, taking turns across partition keys."""
    async def limited_names(self) -> list[tuple[str, str]]:
        """``(scope, name)`` of every stored limit: a cheap look before claiming limited tasks."""
    async def next_flow_slot(self) -> float | None:
        """When a rate limit next has room (epoch seconds), or None."""
    async def claim_tasks_by_id(self, worker_id: str, ids: Sequence[str]) -> list[ClaimedTask]:
        """Claim these queued tasks now, due or not (the testing helpers)."""
    async def complete_tasks(self, outcomes: Sequence[Outcome]) -> list[str]: ...
    async def next_run_at(self, types: Sequence[str], queues: Sequence[str] | None) -> float | None: ...
    async def save_progress(self, reports: Sequence[ProgressReport]) -> None: ...
    async def listen(self, on_wakeup: Callable[[Wakeup], None], on_cancel: Callable[[str], None]) -> Listener:
        """Call ``on_wakeup`` when work may be due, ``on_cancel(task_id)`` when a running task's
        cancellation is requested; a store that cannot push returns a listener that never calls."""

    # recurring series
    async def insert_schedule(self, spec: ScheduleSpec) -> str: ...
    async def list_schedules(self, include_cancelled: bool) -> list[Schedule]: ...
    async def cancel_schedule(self, schedule_id: str) -> bool: ...
    async def run_schedule_now(self, schedule_id: str) -> str | None:
        """Queue one run of an active series now, outside its ticks; the new task's id."""
    async def materialize_schedules(self, now: float, lookahead: float, plan: TickPlanner) -> int: ...

    # workers
    async def heartbeat(self, worker: WorkerInfo) -> list[HeldClaim]: ...
    async def unregister_worker(self, worker_id: str) -> None: ...
    async def rescue_tasks(self, lease: float) -> list[str]: ...
    async def now(self) -> float: ...


__all__ = [
    "BulkStep", "ClaimedTask", "FlowLimit", "HeldClaim", "Listener", "MinuteCount", "Outcome", "ProgressReport", "RecentAttempt",
    "Store", "StoreTimings", "TickPlanner", "Wakeup", "WorkerInfo",
]
