"""Task, series and worker records as JSON-ready dicts (the API's response shapes)."""
from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any

from ..series import Schedule
from ..task import Task, WorkerState


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def task_json(task: Task) -> dict[str, Any]:
    fields = {f.name: getattr(task, f.name) for f in dataclasses.fields(task) if f.name != "extra"}
    return jsonable(fields)


def schedule_json(series: Schedule) -> dict[str, Any]:
    return jsonable(dataclasses.asdict(series))


def worker_json(worker: WorkerState) -> dict[str, Any]:
    return jsonable(dataclasses.asdict(worker))
