"""Records (tasks, series, workers, stats) as plain JSON-ready data, for the CLI and the web."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601, enums as their values, containers walked.

    >>> jsonable({"at": datetime(2030, 1, 1, tzinfo=timezone.utc), "status": TaskStatus.QUEUED})
    {'at': '2030-01-01T00:00:00+00:00', 'status': 'queued'}
    """
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
