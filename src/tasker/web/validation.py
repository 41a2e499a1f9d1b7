"""Checking HTTP input before it reaches the core: bodies, query strings, 422 details.

The core validates too; checking here first lets the API name the field
(``{"loc": ["body", "priority"], ...}``) and keeps values the stores cannot
hold (NUL characters, dates past year 9999) from ever reaching them.
"""
from __future__ import annotations

import json
import math
import unicodedata
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request

from ..enqueue import MAX_NAME_LENGTH, PRIORITY_RANGE
from ..ids import is_id
from ..task import TaskStatus

MIN_EPOCH = -62135596800.0          # 0001-01-01T00:00:00Z and
MAX_EPOCH = 253402300799.0          # 9999-12-31T23:59:59Z: the range of a datetime and of the stores
MAX_DELAY = 100 * 365 * 86400.0     # a century
MAX_TIMEOUT = 10 * 365 * 86400.0
MAX_DEPENDENCIES = 1000
MAX_LIST_LIMIT = 1000
CREATE_FIELDS = ("type", "payload", "queue", "priority", "max_attempts", "delay", "run_at",
                 "unique_key", "depends_on", "timeout", "retry_delay", "meta")
STATUSES = tuple(s.value for s in TaskStatus)


class InvalidInput(Exception):
    """Input that fails validation; ``detail`` is the 422 body's list."""

    def __init__(self, detail: list[dict[str, Any]]):
        super().__init__("; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail))
        self.detail = detail


class BodyTooLarge(Exception):
    pass


def problem(loc: tuple[str, ...], msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": kind}


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (BodyTooLarge) past ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput([problem(("body",), f"the body is not valid JSON: {exc}", "json_invalid")]) from None
    if not isinstance(body, dict):
        raise InvalidInput([problem(("body",), "the body must be a JSON object", "type_error")])
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# -- field checks: each returns a message, or None when the value is fine -------------------------

def name_problem(value: Any, what: str) -> str | None:
    if not isinstance(value, str):
        return f"{what} must be a string"
    if not value.strip():
        return f"{what} must not be empty"
    if len(value) > MAX_NAME_LENGTH:
        return f"{what} is {len(value)} characters long; the limit is {MAX_NAME_LENGTH}"
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        return f"{what} must not contain control characters"
    return None


def int_problem(value: Any, what: str, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{what} must be an integer"
    if not low <= value <= high:
        return f"{what} must be between {low} and {high}"
    return None


def number_problem(value: Any, what: str, low: float, high: float, low_open: bool = False) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{what} must be a number of seconds"
    if value < low or (low_open and value == low) or value > high:
        return f"{what} must be {'>' if low_open else '>='} {low:g} and <= {high:g} seconds"
    return None


def storable_problem(value: Any, what: str) -> str | None:
    """JSON the stores can hold: no NUL character (PostgreSQL refuses it) and no lone surrogate."""
    text = json.dumps(value, ensure_ascii=False)
    if "\\u0000" in text:
        return f"{what} must not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return f"{what} contains a lone surrogate, which is not valid Unicode"
    return None


def parse_run_at(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None, "run_at must be an ISO 8601 date-time (e.g. 2030-01-31T09:00:00Z) or epoch seconds"
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        try:
            value = when.timestamp()
        except (OverflowError, ValueError):
            return None, "run_at is out of range"
    message = number_problem(value, "run_at", MIN_EPOCH, MAX_EPOCH)
    return (None, message) if message else (float(value), None)


def create_options(body: dict[str, Any]) -> tuple[str, Any, dict[str, Any]]:
    """``(type, payload, options)`` for ``acreate`` from a POST /api/tasks body, or InvalidInput."""
    problems: list[dict[str, Any]] = []

    def bad(field: str, message: str | None, kind: str = "value_error") -> None:
        if message:
            problems.append(problem(("body", field), message, kind))

    for field in body:
        if field not in CREATE_FIELDS:
            bad(field, f"unknown field; expected one of: {', '.join(CREATE_FIELDS)}", "extra_forbidden")
    if "type" not in body:
        bad("type", "task type is required", "missing")
    else:
        bad("type", name_problem(body["type"], "task type"))
    options: dict[str, Any] = {}
    present = {k: v for k, v in body.items() if k in CREATE_FIELDS and k not in ("type", "payload") and v is not None}
    for field, value in present.items():
        if field in ("queue", "unique_key"):
            bad(field, name_problem(value, field))
        elif field == "priority":
            bad(field, int_problem(value, field, *PRIORITY_RANGE))
        elif field == "max_attempts":
            bad(field, int_problem(value, field, 1, 10_000))
        elif field in ("delay", "retry_delay"):
            bad(field, number_problem(value, field, 0, MAX_DELAY))
        elif field == "timeout":
            bad(field, number_problem(value, field, 0, MAX_TIMEOUT, low_open=True))
        elif field == "run_at":
            value, message = parse_run_at(value)
            bad(field, message)
        elif field == "depends_on":
            if not isinstance(value, list) or len(value) > MAX_DEPENDENCIES:
                bad(field, f"depends_on must be a list of at most {MAX_DEPENDENCIES} task ids")
            elif not all(is_id(v) for v in value):
                bad(field, "depends_on must contain task ids (UUIDs)")
        elif field == "meta":
            if not isinstance(value, dict):
                bad(field, "meta must be a JSON object", "type_error")
            else:
                bad(field, storable_problem(value, "meta"))
        options[field] = value
    if "run_at" in body and "delay" in body:
        bad("run_at", "give run_at or delay, not both")
    payload = body.get("payload")
    bad("payload", storable_problem(payload, "payload"))
    if problems:
        raise InvalidInput(problems)
    return body["type"], payload, options


def core_problem(exc: Exception) -> InvalidInput:
    """A core ValueError/TypeError/LookupError as a 422, pointed at the field its message names."""
    message = str(exc) or type(exc).__name__
    for field in sorted(CREATE_FIELDS, key=len, reverse=True):
        if message.startswith(field) or f" {field} " in f" {message} " or (field == "type" and message.startswith("task type")):
            return InvalidInput([problem(("body", field), message)])
    return InvalidInput([problem(("body",), message)])


def single(request: Request, name: str) -> str | None:
    """A query parameter given at most once (``?limit=1&limit=2`` is refused, not guessed at)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidInput([problem(("query", name), f"give {name} at most once")])
    return values[0] if values else None


def list_filters(request: Request) -> dict[str, Any]:
    """``status``, ``type``, ``queue`` and ``limit`` from the query string of GET /api/tasks.

    An empty ``status``, ``type`` or ``queue`` means any, as a blank form field would.
    """
    problems: list[dict[str, Any]] = []
    filters: dict[str, Any] = {"status": None, "type": None, "queue": None, "limit": 100}
    status = single(request, "status")
    if status:
        if status not in STATUSES:
            problems.append(problem(("query", "status"), f"status must be one of {', '.join(STATUSES)}"))
        filters["status"] = status
    for field in ("type", "queue"):
        value = single(request, field)
        if value:
            message = name_problem(value, field)
            if message:
                problems.append(problem(("query", field), message))
            filters[field] = value
    limit = single(request, "limit")
    if limit is not None:
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= MAX_LIST_LIMIT:
            problems.append(problem(("query", "limit"), f"limit must be an integer from 1 to {MAX_LIST_LIMIT}"))
        else:
            filters["limit"] = int(limit)
    if problems:
        raise InvalidInput(problems)
    return filters


def older_than(request: Request) -> float | None:
    """``?older_than=SECONDS`` of the cleanup endpoint (absent: every finished task)."""
    raw = single(request, "older_than")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_DELAY:
        raise InvalidInput([problem(("query", "older_than"), f"older_than must be a number of seconds from 0 to {MAX_DELAY:g}")])
    return seconds
