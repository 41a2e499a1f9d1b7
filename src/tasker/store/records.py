"""The records that cross the store boundary, and the one place rows become records.

Rows are read by column name (psycopg's ``dict_row``, ``sqlite3.Row``), never
by position, so a statement's column order cannot silently shift a field.
PostgreSQL gives aware datetimes, SQLite epoch seconds (``as_utc`` makes them
alike); both give JSON as text, decoded here (``decode``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, NamedTuple, Protocol, Sequence

from ..errors import UnknownTaskError
from ..series import Schedule, ScheduleSpec, SeriesRow
from ..tallies import RUN_BUCKETS, WAIT_BUCKETS, Tally, bucket
from ..task import STATUSES, Task, TaskFilter, TaskPage, TaskStatus, WorkerState



class Row(Protocol):
    """A row read by column name: psycopg's ``dict_row`` or ``sqlite3.Row``."""

    def __getitem__(self, column: str, /) -> Any: ...


# -- records -----------------------------------------------------------------------------

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
    headers: dict | None = None     # what travels with the task (trace context...)
    series_id: str | None = None    # the recurring series it is a run of
    run_at: float | None = None     # when it was due (epoch seconds): the queue wait starts there


class Outcome(NamedTuple):
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
    headers_json: str | None = None   # the task's headers, when the attempt added to them (kept for later attempts)
    wait: float | None = None         # seconds from due to the handler's start (tallied, tasker/tallies.py)

    @property
    def run_bucket(self) -> int:
        return bucket(self.duration, RUN_BUCKETS)

    @property
    def wait_bucket(self) -> int:
        return bucket(self.wait, WAIT_BUCKETS)


@dataclass(frozen=True)
class HeldClaim:
    """A running task the store says a worker holds (from its heartbeat)."""

    id: str
    claim_token: str
    cancel_requested: bool
    age: float            # seconds since it was claimed


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker process tells the store about itself at each heartbeat."""

    id: str
    hostname: str
    pid: int
    queues: str
    concurrency: int
    types: tuple[str, ...] = ()   # the task types it has handlers for


class ProgressReport(NamedTuple):
    """A running attempt's latest ``ctx.progress`` value, to save while it runs."""

    task_id: str
    claim_token: str
    progress_json: str


class MinuteCount(NamedTuple):
    """How many tasks finished in one minute (epoch seconds of its start) with one status."""

    minute: float
    status: str
    total: int


class RecentAttempt(NamedTuple):
    """Run time and queue wait of one recently finished task, for histograms."""

    queue: str
    status: str
    run_seconds: float
    wait_seconds: float


class BulkStep(NamedTuple):
    """One batch of a bulk action: how many tasks it changed, and where the next batch starts
    (the last task it looked at; None when there are no more)."""

    changed: int
    next: str | None


@dataclass(frozen=True)
class FlowLimit:
    """A stored flow limit of a task type or queue (``scope``), with what it holds back now:
    ``waiting`` due tasks, ``running`` ones and ``recent_starts`` within the rate's period
    (the last minute when it has no rate)."""

    scope: str                      # "type" or "queue"
    name: str
    concurrency_limit: int | None
    rate_count: int | None
    rate_period: float | None
    waiting: int = 0
    running: int = 0
    recent_starts: int = 0

    @property
    def rate_limit(self) -> str | None:
        """The rate as given: ``"100/m"``."""
        if self.rate_count is None or self.rate_period is None:
            return None
        unit = {1.0: "s", 60.0: "m", 3600.0: "h"}.get(float(self.rate_period))
        return f"{self.rate_count}/{unit}" if unit else f"{self.rate_count}/{self.rate_period:g}s"

    def as_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "name": self.name, "concurrency_limit": self.concurrency_limit,
                "rate_limit": self.rate_limit, "waiting": self.waiting, "running": self.running,
                "recent_starts": self.recent_starts,
                "rate_per_second": None if self.rate_count is None or not self.rate_period else self.rate_count / self.rate_period}


def flow_limit_from_row(row: Row) -> FlowLimit:
    return FlowLimit(scope=row["scope"], name=row["name"], concurrency_limit=row["concurrency_limit"],
                     rate_count=row["rate_count"], rate_period=row["rate_period"], waiting=row["waiting"],
                     running=row["running"], recent_starts=row["recent_starts"])


@dataclass(frozen=True)
class Wakeup:
    """A hint that work may be due: its queue and its earliest run time, if known."""

    queue: str | None = None
    run_at: float | None = None


@dataclass(frozen=True)
class StoreTimings:
    """How often a worker should look at this store, by what the store can tell it unasked."""

    poll_interval: float                  # between polls for due tasks, when nothing woke the worker
    max_heartbeat_interval: float | None  # None: lease / 6 is fine


# -- rows to records -----------------------------------------------------------------------

EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
LATEST = datetime.max.replace(tzinfo=timezone.utc)


def as_utc(value: datetime | float | None) -> datetime | None:
    """PostgreSQL gives aware datetimes, SQLite epoch seconds; records always hold aware UTC.
    A time no datetime can hold (stored by other means) reads as the nearest one that can."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, ValueError, OSError):
        return LATEST if value > 0 else EARLIEST


def utc(value: datetime | float) -> datetime:
    """``as_utc`` of a column that is never NULL."""
    converted = as_utc(value)
    assert converted is not None
    return converted


def instant(value: str | float) -> datetime | None:
    """A time inside JSON: ISO 8601 text from PostgreSQL, epoch seconds from SQLite."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


class Unreadable(str):
    """A stored JSON value that cannot be read back (not JSON, a number too long for Python,
    nested too deep), standing in for it so that one bad row never breaks a listing.
    Its text says why; a worker fails such a task at once instead of running it."""


def decode(value: str | None) -> Any:
    """A JSON column: both stores give JSON as text (PostgreSQL's statements cast jsonb ``::text``)."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except (ValueError, RecursionError) as exc:
        return Unreadable(f"<unreadable stored JSON ({len(value)} characters): {type(exc).__name__}: {exc}>"[:500])


def task_from_row(row: Row) -> Task:
    return Task(
        id=row["id"],
        type=row["type"],
        payload=decode(row["payload"]),
        status=TaskStatus(row["status"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        priority=row["priority"],
        queue=row["queue"],
        run_at=utc(row["run_at"]),
        created_at=utc(row["created_at"]),
        started_at=as_utc(row["started_at"]),
        finished_at=as_utc(row["finished_at"]),
        last_error=row["last_error"],
        result=decode(row["result"]),
        unique_key=row["unique_key"],
        meta=decode(row["meta"]),
        timeout=row["timeout"],
        retry_delay=row["retry_delay"],
        worker_id=row["worker_id"],
        cancel_requested=bool(row["cancel_requested"]),
        series_id=row["series_id"],
        fire_time=as_utc(row["fire_time"]),
        progress=decode(row["progress"]),
        pending_dependencies=row["pending_deps"],
        errors=_errors(decode(row["errors"])),
        cancellable=bool(row["cancellable"]),
        headers=decode(row["headers"]),
    )


def page_from_rows(rows: Sequence[Row], limit: int, scan: int | None) -> TaskPage:
    """A page from ``list_tasks`` rows: up to ``limit + 1`` matches (``hit``), each with its
    place ``n`` in the scan; when an error search ran out of budget, also the last row it read
    (``n == scan``) and, if the history goes on, the row after it."""
    hits = [row for row in rows if row["hit"] and (scan is None or row["n"] <= scan)]
    tasks = [task_from_row(row) for row in hits[:limit]]
    if len(hits) > limit:
        return TaskPage(tasks, tasks[-1].id)
    if scan is not None and any(row["n"] > scan for row in rows):
        return TaskPage(tasks, next(row["id"] for row in rows if row["n"] == scan), scan_limited=True)
    return TaskPage(tasks)


def filter_params(selection: TaskFilter) -> dict[str, Any]:
    """A task filter as the named parameters of ``_task_filter.sql`` (``ids`` as a list)."""
    return {"status": selection.status, "type": selection.type, "queue": selection.queue, "error": selection.error,
            "series_id": selection.series_id, "ids": None if selection.ids is None else list(selection.ids),
            "upto": selection.upto}


def _errors(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return [{"attempt": None, "at": None, "error": str(value)}]
    return [{**e, "at": instant(e["at"])} if isinstance(e, dict) and "at" in e else {"error": str(e)} for e in value]


def claimed_from_row(row: Row) -> ClaimedTask:
    return ClaimedTask(
        id=row["id"], claim_token=row["claim_token"], type=row["type"], payload=decode(row["payload"]),
        attempts=row["attempts"], max_attempts=row["max_attempts"], timeout=row["timeout"],
        retry_delay=row["retry_delay"], queue=row["queue"], priority=row["priority"], meta=decode(row["meta"]),
        headers=decode(row["headers"]), series_id=row["series_id"], run_at=row["run_at"],
    )


def held_claim_from_row(row: Row) -> HeldClaim:
    return HeldClaim(id=row["id"], claim_token=row["claim_token"], cancel_requested=bool(row["cancel_requested"]), age=row["age"])


def worker_from_row(row: Row) -> WorkerState:
    return WorkerState(
        id=row["id"], hostname=row["hostname"], pid=row["pid"], queues=row["queues"], concurrency=row["concurrency"],
        started_at=utc(row["started_at"]), last_seen=utc(row["last_seen"]), running=row["running"],
        types=decode(row["types"]) or [],
    )


def schedule_from_row(row: Row) -> Schedule:
    return Schedule(
        id=row["id"], name=row["name"], type=row["type"], payload=decode(row["payload"]), every=row["every_seconds"],
        cron=row["cron"], timezone=row["timezone"], mode=row["mode"], catch_up=row["catch_up"], status=row["status"],
        next_run_at=as_utc(row["next_run_at"]), last_fire_at=as_utc(row["last_fire_at"]),
        created_at=utc(row["created_at"]), queue=row["queue"],
    )


def series_from_row(row: Row) -> SeriesRow:
    return SeriesRow(
        id=row["id"], every_seconds=row["every_seconds"], cron=row["cron"], timezone=row["timezone"], mode=row["mode"],
        catch_up=row["catch_up"], anchor=row["anchor"], cursor_at=row["cursor_at"],
    )


def minute_count_from_row(row: Row) -> MinuteCount:
    return MinuteCount(minute=row["minute"], status=row["status"], total=row["n"])


def recent_attempt_from_row(row: Row) -> RecentAttempt:
    return RecentAttempt(queue=row["queue"], status=row["status"], run_seconds=row["run_seconds"], wait_seconds=row["wait_seconds"])


def tally_from_row(row: Row) -> Tally:
    return Tally(queue=row["queue"], type=row["type"], status=row["status"], run_bucket=row["run_bucket"],
                 wait_bucket=row["wait_bucket"], count=int(row["count"]), run_seconds=float(row["run_seconds"] or 0.0),
                 wait_seconds=float(row["wait_seconds"] or 0.0))


def stats_from_rows(rows: Sequence[Row], paused_queues: list[str]) -> dict[str, Any]:
    """``(queue, status, n)`` rows -> ``{status: n, ..., "total", "by_status", "by_queue", "paused_queues"}``."""
    by_status = dict.fromkeys(STATUSES, 0)
    by_queue: dict[str, dict[str, int]] = {}
    for row in rows:
        queue, status, n = row["queue"], row["status"], row["n"]
        by_status[status] += n
        by_queue.setdefault(queue, dict.fromkeys(STATUSES, 0))[status] += n
    return {**by_status, "total": sum(by_status.values()), "by_status": dict(by_status), "by_queue": by_queue,
            "paused_queues": paused_queues}


# -- records to parameters -----------------------------------------------------------------

def dependency_verdict(depends_on: Sequence[str], statuses: Mapping[str, str]) -> tuple[int, str | None]:
    """How many dependencies are unfinished, and why the task is cancelled at once (if so).

    Unknown ids are an error: nothing is stored for a task that names them.
    """
    missing = [dep for dep in depends_on if dep not in statuses]
    if missing:
        raise UnknownTaskError(f"depends_on names unknown task id(s): {', '.join(missing)}", field="depends_on")
    for dep in depends_on:
        if statuses[dep] in ("failed", "cancelled"):
            return 0, f"Cancelled: dependency {dep} {statuses[dep]}"
    return sum(1 for dep in depends_on if statuses[dep] != "succeeded"), None


def resolve_existing(pending: Sequence[Any], rows: Sequence[Row]) -> dict[str, str]:
    """For tasks an insert skipped, the id ``create`` returns: their own (an earlier try
    inserted them) or that of the live task holding their unique key (``find_existing_tasks``)."""
    found = {row["id"] for row in rows}
    mine = {t.id for t in pending}
    holders = {row["unique_key"]: row["id"] for row in rows if row["id"] not in mine and row["unique_key"]}
    resolved = {t.id: t.id for t in pending if t.id in found}
    resolved.update({t.id: holders[t.unique_key] for t in pending if t.id not in resolved and t.unique_key in holders})
    return resolved


def schedule_params(spec: ScheduleSpec) -> dict[str, Any]:
    t = spec.template
    return {
        "id": spec.id, "name": spec.name, "type": t.type, "payload": t.payload_json,
        "every_seconds": spec.every_seconds, "cron": spec.cron, "timezone": spec.timezone, "mode": spec.mode,
        "catch_up": spec.catch_up, "anchor": spec.anchor, "first_at": spec.first_at, "queue": t.queue,
        "priority": t.priority, "max_attempts": t.max_attempts, "timeout": t.timeout,
        "retry_delay": t.retry_delay, "meta": t.meta_json, "cancellable": t.cancellable, "headers": t.headers_json,
    }
