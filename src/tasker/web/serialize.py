"""Task, series and worker records as JSON-ready dicts (the API's response shapes)."""
from __future__ import annotations

import dataclasses
from typing import Any

from ..jsonable import jsonable
from ..series import Schedule
from ..task import Task, WorkerState


def task_json(task: Task) -> dict[str, Any]:
    return jsonable({f.name: getattr(task, f.name) for f in dataclasses.fields(task)})


def schedule_json(series: Schedule) -> dict[str, Any]:
    return jsonable(dataclasses.asdict(series))


def worker_json(worker: WorkerState) -> dict[str, Any]:
    return jsonable(dataclasses.asdict(worker))
