"""Row -> record conversions shared by both stores."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from ..errors import UnknownTaskError
from ..series import Schedule, ScheduleSpec
from ..task import Task, TaskStatus

STATUSES = tuple(s.value for s in TaskStatus)


def as_utc(value: datetime | float | None) -> datetime | None:
    """PostgreSQL gives aware datetimes, SQLite epoch seconds; Task always holds aware UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return datetime.fromtimestamp(value, timezone.utc)


def instant(value: str | float) -> datetime | None:
    """A time inside JSON: ISO 8601 text from PostgreSQL, epoch seconds from SQLite."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def as_json(value: Any) -> Any:
    """SQLite keeps JSON as text; psycopg has already decoded jsonb."""
    return json.loads(value) if isinstance(value, str) else value


def task_from_row(row: Mapping[str, Any], json_is_text: bool) -> Task:
    decode = as_json if json_is_text else (lambda v: v)
    return Task(
        id=row["id"],
        type=row["type"],
        payload=decode(row["payload"]),
        status=TaskStatus(row["status"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        priority=row["priority"],
        queue=row["queue"],
        run_at=as_utc(row["run_at"]),
        created_at=as_utc(row["created_at"]),
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
        errors=[{**e, "at": instant(e["at"])} for e in decode(row["errors"])],
    )


def dependency_verdict(depends_on: Sequence[str], statuses: Mapping[str, str]) -> tuple[int, str | None]:
    """How many dependencies are unfinished, and why the task is cancelled at once (if so).

    Unknown ids are an error: nothing is stored for a task that names them.
    """
    missing = [dep for dep in depends_on if dep not in statuses]
    if missing:
        raise UnknownTaskError(f"depends_on names unknown task id(s): {', '.join(missing)}")
    for dep in depends_on:
        if statuses[dep] in ("failed", "cancelled"):
            return 0, f"Cancelled: dependency {dep} {statuses[dep]}"
    return sum(1 for dep in depends_on if statuses[dep] != "succeeded"), None


def stats_from_counts(rows: list[tuple[str, str, int]]) -> dict[str, Any]:
    """``(queue, status, n)`` rows -> ``{status: n, ..., "total", "by_status", "by_queue"}``."""
    by_status = dict.fromkeys(STATUSES, 0)
    by_queue: dict[str, dict[str, int]] = {}
    for queue, status, n in rows:
        by_status[status] += n
        by_queue.setdefault(queue, dict.fromkeys(STATUSES, 0))[status] += n
    return {**by_status, "total": sum(by_status.values()), "by_status": dict(by_status), "by_queue": by_queue}


def schedule_from_row(row: Any, json_is_text: bool) -> Schedule:
    payload = as_json(row[3]) if json_is_text else row[3]
    return Schedule(
        id=row[0], name=row[1], type=row[2], payload=payload, every=row[4], cron=row[5], timezone=row[6],
        mode=row[7], catch_up=row[8], status=row[9], next_run_at=as_utc(row[10]), last_fire_at=as_utc(row[11]),
        created_at=as_utc(row[12]), queue=row[13],
    )


def schedule_params(spec: ScheduleSpec) -> dict[str, Any]:
    t = spec.template
    return {
        "id": spec.id, "name": spec.name, "type": t.type, "payload": t.payload_json,
        "every_seconds": spec.every_seconds, "cron": spec.cron, "timezone": spec.timezone, "mode": spec.mode,
        "catch_up": spec.catch_up, "anchor": spec.anchor, "first_at": spec.first_at, "queue": t.queue,
        "priority": t.priority, "max_attempts": t.max_attempts, "timeout": t.timeout,
        "retry_delay": t.retry_delay, "meta": t.meta_json,
    }
