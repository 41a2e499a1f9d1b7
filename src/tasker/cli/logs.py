"""Log output of the long-running commands (worker, dashboard): lines for people, or JSON lines."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

from ..jsonable import jsonable
from ..store.url import redact

# Attributes every LogRecord has; anything else on a record came from ``extra=`` (task_id, ...).
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message", "taskName"}
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """One JSON object per record: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
    the fields the record carries (``task_id``, ``task_type``, ``attempt``, ``duration``,
    ``status`` for attempts) and ``exception`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update((key, value) for key, value in vars(record).items() if key not in STANDARD_ATTRIBUTES)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(jsonable(entry), ensure_ascii=False, default=str)


def configure_logging(level: str, as_json: bool = False) -> None:
    """Log to stderr at ``level``: text lines, or one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if as_json else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
