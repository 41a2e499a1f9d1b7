"""Logging for workers: the fields each attempt's records carry, and one-JSON-object-a-line output.

Records about an attempt (``tasker.worker``) carry ``task_id``, ``task_type``, ``queue``,
``attempt``, ``duration``, ``status`` and, when the task travels with W3C trace context,
``trace_id``; records your handlers log while a task runs get the task's fields too (from
``TaskFields``), so a log pipeline can join them.

>>> configure_logging("INFO", "json")   # what `tasker worker --log-format json` does
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, Mapping

from .context import TaskContext
from .jsonable import jsonable
from .store.url import redact

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from ``extra=`` or ``TaskFields``.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message", "taskName"}


def trace_id_of(headers: Mapping[str, Any] | None) -> str | None:
    """The trace id of a W3C ``traceparent`` header (``00-<trace id>-<span id>-<flags>``), if well formed."""
    value = (headers or {}).get("traceparent")
    if not isinstance(value, str):
        return None
    parts = value.split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or parts[1] == "0" * 32:
        return None
    return parts[1].lower()


class TaskFields(logging.Filter):
    """Adds the running task's fields to records logged inside its handler (any logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = TaskContext.running.get(None)
        if ctx is not None and not hasattr(record, "task_id"):
            record.task_id, record.task_type, record.queue, record.attempt = ctx.task_id, ctx.type, ctx.queue, ctx.attempt
            trace_id = _current_trace_id() or trace_id_of(ctx.headers)
            if trace_id:
                record.trace_id = trace_id
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, every
    field the record carries (``task_id``, ``task_type``, ``attempt``... from ``extra=`` or
    ``TaskFields``) and ``exception`` (the traceback); passwords in URLs are masked."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        line.update((key, value) for key, value in vars(record).items() if key not in STANDARD_ATTRIBUTES and value is not None)
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(jsonable(line), ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", format: str = "text") -> None:
    """Log to stderr at ``level``, as text or JSON lines, with task fields on records logged
    inside handlers (replacing the root logger's handlers: a worker process owns its output)."""
    if format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(TaskFields())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def _current_trace_id() -> str | None:
    """The active OpenTelemetry span's trace id, where opentelemetry-api is installed."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
