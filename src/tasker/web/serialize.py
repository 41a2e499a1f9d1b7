"""Task, series and worker records as JSON-ready dicts (the API's response shapes)."""
from __future__ import annotations

import dataclasses
from typing import Any

import json

from ..jsonable import jsonable
from ..limits import MAX_LISTED_VALUE_BYTES
from ..series import Schedule
from ..task import Task, WorkerState

LARGE_FIELDS = ("payload", "result", "meta", "progress")


def task_json(task: Task, listed: bool = False) -> dict[str, Any]:
    """A task as the API returns it. ``listed``: in a listing, a value larger than
    ``MAX_LISTED_VALUE_BYTES`` as JSON is left out (null), and ``truncated`` says which
    and how large each was; GET /api/tasks/{id} returns it whole."""
    record = jsonable({f.name: getattr(task, f.name) for f in dataclasses.fields(task)})
    if listed:
        sizes = {field: _json_size(record[field]) for field in LARGE_FIELDS if record[field] is not None}
        record["truncated"] = {field: size for field, size in sizes.items() if size > MAX_LISTED_VALUE_BYTES}
        for field in record["truncated"]:
            record[field] = None
    return record


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def schedule_json(series: Schedule) -> dict[str, Any]:
    return jsonable(dataclasses.asdict(series))


def worker_json(worker: WorkerState) -> dict[str, Any]:
    return jsonable(dataclasses.asdict(worker))
