"""Recurring series: validating a definition and planning its ticks (pure).

Timing rules (also in the README):

- A cron series fires on wall-clock ticks in its time zone (see ``cron.py``
  for daylight-saving changes).
- An interval series is ``fixed_rate`` by default: ticks at ``anchor + k * every``
  whatever the runs take. ``mode="after_finish"`` instead starts the next run
  ``every`` after the previous run finished (do-taskmanager's behaviour);
  only one run of such a series is ever outstanding.
- Each tick is one task; a failed run is retried with its retry delay like any
  task and never moves or stops later ticks.
- Ticks missed while no worker ran: by default one catch-up run (the most
  recent missed tick); ``catch_up=N`` runs up to the N most recent.
- Occurrences are inserted ``LOOKAHEAD`` seconds ahead as queued tasks with
  ``run_at`` = the tick, so an idle worker's timer starts them on time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from typing import Any

from .cron import Cron, Interval, Recurrence, fire_times_between, parse_every
from . import checks
from .enqueue import NewTask, TaskDefaults, build_new_task
from .limits import MAX_CATCH_UP
from .ids import new_id

UTC = timezone.utc
LOOKAHEAD = 2.0          # seconds ahead that ticks become queued tasks
MISSED_AFTER = 5.0       # a tick this far in the past when planned counts as missed
MAX_TICKS_PER_PLAN = 1000
MODES = ("fixed_rate", "after_finish")
SERIES_OPTIONS = ("max_attempts", "priority", "queue", "timeout", "meta", "retry_delay")


@dataclass(frozen=True)
class ScheduleSpec:
    """A validated series, ready for ``Store.insert_schedule``."""

    id: str
    name: str | None
    template: NewTask           # type, payload and per-run options
    every_seconds: float | None
    cron: str | None
    timezone: str | None
    mode: str
    catch_up: int
    anchor: float
    first_at: float             # the first tick, epoch seconds


@dataclass(frozen=True)
class Schedule:
    """A series as listed by ``app.schedules()``."""

    id: str
    name: str | None
    type: str
    payload: Any
    every: float | None
    cron: str | None
    timezone: str | None
    mode: str
    catch_up: int
    status: str
    next_run_at: datetime | None
    last_fire_at: datetime | None
    created_at: datetime
    queue: str


@dataclass(frozen=True)
class SeriesRow:
    """What tick planning needs of a stored series."""

    id: str
    every_seconds: float | None
    cron: str | None
    timezone: str | None
    mode: str
    catch_up: int
    anchor: float
    cursor_at: float


def build_spec(
    every: Any,
    type: Any,
    payload: Any,
    defaults: TaskDefaults,
    *,
    name: str | None = None,
    timezone: str | None = None,
    mode: str = "fixed_rate",
    catch_up: int = 1,
    max_payload_bytes: int,
    now: datetime | None = None,
    **options: Any,
) -> ScheduleSpec:
    """Validate ``schedule_every``'s arguments; raise before anything is stored."""
    unknown = set(options) - set(SERIES_OPTIONS)
    if unknown:
        raise TypeError(f"unknown option(s) for a recurring task: {', '.join(sorted(unknown))}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    checks.integer(catch_up, "catch_up", 1, MAX_CATCH_UP)
    if name is not None:
        checks.name(name, "name", "series name")
    now = now or datetime.now(UTC)
    recurrence = parse_every(every, timezone=timezone, anchor=now)
    if mode == "after_finish" and isinstance(recurrence, Cron):
        raise ValueError("mode='after_finish' applies to intervals; a cron series fires on wall-clock ticks")
    template = build_new_task(type, payload, defaults, max_payload_bytes=max_payload_bytes, **options)
    first = now + timedelta(seconds=recurrence.seconds) if isinstance(recurrence, Interval) else recurrence.next_after(now)
    return ScheduleSpec(
        id=new_id(),
        name=name,
        template=template,
        every_seconds=recurrence.seconds if isinstance(recurrence, Interval) else None,
        cron=recurrence.expression if isinstance(recurrence, Cron) else None,
        timezone=recurrence.timezone if isinstance(recurrence, Cron) else None,
        mode=mode,
        catch_up=catch_up,
        anchor=now.timestamp(),
        first_at=first.timestamp(),
    )


def recurrence_of(row: SeriesRow) -> Recurrence:
    if row.cron is not None:
        return Cron(row.cron, row.timezone or "UTC")
    assert row.every_seconds is not None   # a series is either cron or interval (schedules_kind_check)
    return Interval(row.every_seconds, datetime.fromtimestamp(row.anchor, UTC))


def plan_ticks(row: SeriesRow, now: float, lookahead: float = LOOKAHEAD) -> tuple[list[float], float | None]:
    """Ticks to insert now (epoch seconds, ascending) and the next cursor.

    ``cursor_at`` is the earliest tick not yet inserted. Ticks older than
    ``MISSED_AFTER`` are missed: only the latest ``catch_up`` of them run.
    An after-finish series inserts its one tick and then waits (cursor None)
    until that run finishes.
    """
    if row.cursor_at > now + lookahead:
        return [], row.cursor_at
    if row.mode == "after_finish":
        return [row.cursor_at], None
    rec = recurrence_of(row)
    just_before_cursor = datetime.fromtimestamp(row.cursor_at, UTC) - timedelta(microseconds=1)
    missed_until = datetime.fromtimestamp(now - MISSED_AFTER, UTC)
    until = datetime.fromtimestamp(now + lookahead, UTC)
    ticks: list[datetime] = []
    if missed_until > just_before_cursor:
        ticks = fire_times_between(rec, just_before_cursor, missed_until, row.catch_up)
        start = max(just_before_cursor, missed_until)
    else:
        start = just_before_cursor
    ticks += fire_times_between(rec, start, until, MAX_TICKS_PER_PLAN)
    return [t.timestamp() for t in ticks], rec.next_after(until).timestamp()
