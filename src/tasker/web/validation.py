"""HTTP input: reading bodies and query strings, and turning refusals into 422 details.

Only what is HTTP's own is checked here (JSON syntax, unknown or missing
fields, numbers written as text, the size of one response page). Every value
then goes to the core, whose field-tagged ``InputError`` becomes the 422 body
(``{"loc": ["body", "priority"], "msg": ..., "type": ...}``): one set of rules
and words for the Python API, the CLI and the HTTP API.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request

from ..enqueue import TASK_OPTIONS
from ..errors import InputError, UnknownTaskError
from ..limits import MAX_PAGE_SIZE

CREATE_FIELDS = ("type", "payload", *TASK_OPTIONS)
# ASCII digits only: float() would also take "1_000", "١٢" or " 5 ".
PLAIN_NUMBER = re.compile(r"^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
PLAIN_INTEGER = re.compile(r"^[0-9]+$")


class InvalidInput(Exception):
    """Input that fails validation; ``detail`` is the 422 body's list."""

    def __init__(self, detail: list[dict[str, Any]]):
        super().__init__("; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail))
        self.detail = detail


class BodyTooLarge(Exception):
    pass


def problem(loc: tuple[str, ...], msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": kind}


def from_core(exc: InputError | UnknownTaskError, where: str) -> InvalidInput:
    """The core's refusal as a 422, each problem pointed at its field in ``where`` ("body", "query")."""
    if isinstance(exc, UnknownTaskError):
        return InvalidInput([problem((where, exc.field or "task_id"), str(exc))])
    return InvalidInput([problem((where, p.field), p.message, "type_error" if p.kind is TypeError else "value_error")
                         for p in exc.problems])


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (BodyTooLarge) past ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
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
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput([problem(("body",), f"the body is not valid JSON: {exc}", "json_invalid")]) from None
    if not isinstance(body, dict):
        raise InvalidInput([problem(("body",), "the body must be a JSON object", "type_error")])
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def field_problems(body: dict[str, Any], allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Fields the endpoint does not take, and missing required ones."""
    problems = [problem(("body", field), f"unknown field; expected one of: {', '.join(allowed)}", "extra_forbidden")
                for field in body if field not in allowed]
    problems += [problem(("body", field), f"{field} is required" if field != "type" else "task type is required", "missing")
                 for field in required if field not in body]
    return problems


def create_request(body: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """``(type, payload, options)`` for ``acreate`` from a POST /api/tasks body; null options mean absent."""
    problems = field_problems(body, CREATE_FIELDS, required=("type",))
    if problems:
        raise InvalidInput(problems)
    options = {k: v for k, v in body.items() if k in TASK_OPTIONS and v is not None}
    if isinstance(options.get("run_at"), str):
        options["run_at"] = _iso_datetime(options["run_at"])
    return body["type"], body.get("payload"), options


def _iso_datetime(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput([problem(("body", "run_at"), "run_at must be an ISO 8601 date-time (e.g. 2030-01-31T09:00:00Z) or epoch seconds")]) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def single(request: Request, name: str) -> str | None:
    """A query parameter given at most once (``?limit=1&limit=2`` is refused, not guessed at)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidInput([problem(("query", name), f"give {name} at most once")])
    return values[0] if values else None


def query_integer(request: Request, name: str, default: int, high: int) -> int:
    """A whole number of ASCII digits from 1 to ``high`` (this HTTP endpoint's own bound)."""
    raw = single(request, name)
    if raw is None:
        return default
    if not PLAIN_INTEGER.match(raw) or not 1 <= int(raw) <= high:
        raise InvalidInput([problem(("query", name), f"{name} must be an integer from 1 to {high}")])
    return int(raw)


LIST_FILTERS = ("status", "type", "queue", "error", "series_id", "after")
BULK_FIELDS = ("action", "status", "type", "queue", "error", "series_id", "ids", "upto", "dry_run")


def list_filters(request: Request) -> dict[str, Any]:
    """``status``, ``type``, ``queue``, ``error``, ``series_id``, ``after`` and ``limit`` of
    GET /api/tasks (an empty filter means any, as a blank form field would); the core checks each value."""
    filters: dict[str, Any] = {field: single(request, field) or None for field in LIST_FILTERS}
    filters["limit"] = query_integer(request, "limit", 100, MAX_PAGE_SIZE)
    return filters


def bulk_request(body: dict[str, Any]) -> tuple[str, bool, dict[str, Any]]:
    """``(action, dry_run, filters)`` of a POST /api/tasks/bulk body; null filters mean absent."""
    problems = field_problems(body, BULK_FIELDS, required=("action",))
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        problems.append(problem(("body", "dry_run"), "dry_run must be true or false", "type_error"))
    if problems:
        raise InvalidInput(problems)
    filters = {k: v for k, v in body.items() if k not in ("action", "dry_run") and v is not None}
    return body["action"], dry_run, filters


def older_than(request: Request) -> float | None:
    """``?older_than=SECONDS`` of the cleanup endpoint (absent: every finished task); the core bounds it."""
    raw = single(request, "older_than")
    if raw is None:
        return None
    if not PLAIN_NUMBER.match(raw):
        raise InvalidInput([problem(("query", "older_than"), "older_than must be a number of seconds, in plain digits (e.g. 3600)")])
    return float(raw)
