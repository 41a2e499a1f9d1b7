"""Checking inputs: one function per kind of value, each naming the field it refuses (pure).

Every entry point (the Python API, the CLI, the HTTP API) goes through these,
so a value is accepted or refused the same way everywhere, with the same
words. A refusal is an ``InputError`` (``InvalidValue`` / ``InvalidType``)
carrying the field; ``Checks`` collects several before raising them together.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, NoReturn, TypeVar

from .errors import InputError, Problem, input_error
from .ids import is_id
from .limits import (EARLIEST_EPOCH, LATEST_EPOCH, MAX_CONCURRENCY_LIMIT, MAX_DELAY, MAX_JSON_DEPTH, MAX_NAME_LENGTH,
                     MAX_RATE_COUNT, ON_CONFLICT, RATE_PERIODS)
from .task import BULK_ACTIONS, TaskStatus

T = TypeVar("T")
ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_ENCODE = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False).encode


def refuse(field: str, message: str, kind: type[Exception] = ValueError) -> NoReturn:
    raise input_error([Problem(field, message, kind)])


def name(value: Any, field: str, label: str | None = None) -> str:
    """A type, queue, key or series name: text that is safe in logs and terminals."""
    label = label or field
    if not isinstance(value, str):
        refuse(field, f"{label} must be a string, not {type(value).__name__}", TypeError)
    if not value.strip():
        refuse(field, f"{label} must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        refuse(field, f"{label} is {len(value)} characters long; the limit is {MAX_NAME_LENGTH}")
    categories = {unicodedata.category(ch) for ch in value} if not value.isascii() or not value.isprintable() else ()
    if "Cc" in categories:
        # Names end up in logs and terminals: a newline or an escape sequence could forge them.
        refuse(field, f"{label} must not contain control characters (such as newlines or NUL): {value!r}")
    if "Cs" in categories:
        refuse(field, f"{label} contains a lone surrogate, which is not valid Unicode text: {value!r}")
    return value


def integer(value: Any, field: str, low: int | None = None, high: int | None = None, label: str | None = None) -> int:
    label = label or field
    if isinstance(value, bool) or not isinstance(value, int):
        refuse(field, f"{label} must be an integer, not {type(value).__name__}", TypeError)
    within = f" (a whole number between {low} and {high})" if low is not None and high is not None else ""
    if low is not None and value < low:
        refuse(field, f"{label} must be >= {low}, got {value}{within}")
    if high is not None and value > high:
        refuse(field, f"{label} must be <= {high}, got {value}{within}")
    return value


def seconds(value: Any, field: str, high: float = MAX_DELAY, positive: bool = False, label: str | None = None) -> float:
    """A duration: seconds (int or float) or a ``timedelta``, finite, >= 0 (> 0 if ``positive``), at most ``high``."""
    label = label or field
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        refuse(field, f"{label} must be seconds or a timedelta, not {type(value).__name__}", TypeError)
    if not math.isfinite(value) or value < 0:
        refuse(field, f"{label} must be a finite number of seconds >= 0, got {value!r}")
    if positive and value == 0:
        refuse(field, f"{label} must be > 0 seconds, got {value!r}")
    if value > high:
        refuse(field, f"{label} must be at most {high:g} seconds (about {high / 31_536_000:g} years), got {value:g}")
    return float(value)


# "90", "1.5", "7d", "12h", "30m", "1h30m", "2w 3d": amounts with units, largest first or not.
DURATION_UNITS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|[wdhms])")
_PLAIN_SECONDS = re.compile(r"\s*-?\d+(?:\.\d+)?\s*")


def duration(value: Any, field: str, high: float = MAX_DELAY, positive: bool = False, label: str | None = None) -> float:
    """``seconds`` that also reads text: plain seconds (``"90"``, ``"1.5"``) or amounts with
    units w, d, h, m, s, ms (``"7d"``, ``"12h"``, ``"1h30m"``), each unit at most once.

    >>> duration("1h30m", "older_than")
    5400.0
    """
    label = label or field
    if isinstance(value, str):
        value = _duration_seconds(value, field, label)
    return seconds(value, field, high, positive, label)


def _duration_seconds(text: str, field: str, label: str) -> float:
    if _PLAIN_SECONDS.fullmatch(text):
        return float(text)
    parts, end = [], 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != end:
            break
        parts.append((float(match.group(1)), match.group(2)))
        end = match.end()
    units = [unit for _, unit in parts]
    if not parts or text[end:].strip() or len(set(units)) != len(units):
        refuse(field, f"{label} {text!r} is not a duration: use seconds (90, 1.5) or amounts with units "
                      f"w, d, h, m, s, ms (7d, 12h, 30m, 1h30m), each unit once")
    return sum(amount * DURATION_UNITS[unit] for amount, unit in parts)


def moment(value: Any, field: str = "run_at") -> float:
    """An aware datetime (naive means UTC) or epoch seconds, within the years 1 to 9999 (UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        epoch = value.timestamp()
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        refuse(field, f"{field} must be a datetime or epoch seconds, not {type(value).__name__}", TypeError)
    else:
        epoch = float(value)
        if not math.isfinite(epoch):
            refuse(field, f"{field} must be finite, got {value!r}")
    if not EARLIEST_EPOCH <= epoch <= LATEST_EPOCH:
        refuse(field, f"{field} must fall between the years 1 and 9999 (UTC), that is epoch seconds "
                      f">= {EARLIEST_EPOCH:.0f} and <= {LATEST_EPOCH:.0f}; got {value!r}")
    return epoch


def json_text(value: Any, field: str, limit: int | None = None, label: str | None = None) -> str:
    """Strict JSON text (no NaN, no str() fallback) that both stores can keep and read back."""
    label = label or field
    try:
        text = _ENCODE(value)
    except (TypeError, ValueError) as exc:
        refuse(field, f"{label} is not JSON-serializable: {exc}", TypeError)
    except RecursionError:
        refuse(field, f"{label} is nested more than {MAX_JSON_DEPTH} levels deep")
    if "\\u0000" in text and ESCAPED_NUL.search(text):
        refuse(field, f"{label} contains a NUL character (\\u0000), which PostgreSQL cannot store")
    if text.isascii():
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            refuse(field, f"{label} contains a lone surrogate, which is not valid Unicode text")
    if limit is not None and size > limit:
        refuse(field, f"{label} is {size} bytes as JSON; the limit is {limit} bytes")
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        # Deeper values are read back by recursive parsers (Python's, the stores'), which may run out of stack.
        refuse(field, f"{label} is nested more than {MAX_JSON_DEPTH} levels deep")
    return text


def storable_text(text: str) -> str:
    """Text that both stores can keep, made so rather than refused (for error messages and
    tracebacks, which come from handlers): NUL and lone surrogates become visible escapes."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a JSON-ready value (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def concurrency_limit(value: Any, field: str = "concurrency_limit") -> int | None:
    """How many may run at once across every worker; None: no limit."""
    return None if value is None else integer(value, field, 1, MAX_CONCURRENCY_LIMIT)


_RATE = re.compile(r"\s*([0-9]+)\s*/\s*([smh])\s*")


def rate_limit(value: Any, field: str = "rate_limit") -> tuple[int, float] | None:
    """``"100/m"`` (also ``/s``, ``/h``) as (starts, period in seconds); None: no limit.

    >>> rate_limit("100/m")
    (100, 60.0)
    """
    if value is None:
        return None
    if not isinstance(value, str):
        refuse(field, f"{field} must be text such as '100/m' (per s, m or h), not {type(value).__name__}", TypeError)
    match = _RATE.fullmatch(value)
    if not match:
        refuse(field, f"{field} {value!r} is not a rate: use N/s, N/m or N/h, such as '100/m'")
    count = integer(int(match.group(1)), field, 1, MAX_RATE_COUNT)
    return count, RATE_PERIODS[match.group(2)]


def on_conflict(value: Any, field: str = "on_conflict") -> str:
    """What a create does when a live task holds its unique key: keep that task, or replace it while queued."""
    if value not in ON_CONFLICT:
        refuse(field, f"on_conflict must be one of {', '.join(map(repr, ON_CONFLICT))}, got {value!r}")
    return value


def status(value: Any, field: str = "status") -> TaskStatus:
    try:
        return TaskStatus(value)
    except ValueError:
        valid = ", ".join(s.value for s in TaskStatus)
        refuse(field, f"unknown status {value!r}: use one of {valid}")


def finished_status(value: Any, field: str = "status") -> TaskStatus:
    """A terminal status (succeeded, failed, cancelled): what cleanup may delete."""
    chosen = status(value, field)
    if not chosen.finished:
        done = ", ".join(s.value for s in TaskStatus if s.finished)
        refuse(field, f"{field} must be a finished status ({done}), not {chosen.value!r}: queued and running tasks are never cleaned up")
    return chosen


def identifier(value: Any, field: str) -> str:
    """A task or series id: a UUID in text (any case; stored lower-case)."""
    if not isinstance(value, str):
        refuse(field, f"{field} must be a string, not {type(value).__name__}", TypeError)
    if not is_id(value):
        refuse(field, f"{field} must be a task or series id (a UUID), got {value[:60]!r}")
    return value.lower()


def identifiers(value: Any, field: str, high: int) -> tuple[str, ...]:
    """A list of ids, at most ``high`` of them."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        refuse(field, f"{field} must be a list of ids, not {type(value).__name__}", TypeError)
    if len(value) > high:
        refuse(field, f"{field} holds {len(value)} ids; the limit is {high}")
    return tuple(identifier(item, field) for item in value)


def action(value: Any, field: str = "action") -> str:
    """What a bulk action does: one of ``task.BULK_ACTIONS``."""
    if value not in BULK_ACTIONS:
        refuse(field, f"unknown action {value!r}: use one of {', '.join(BULK_ACTIONS)}")
    return value


class Checks:
    """Runs checks and keeps every problem, so that one refusal names them all.

    >>> check = Checks()
    >>> queue = check(name, "", "queue")
    >>> tries = check(integer, 0, "max_attempts", 1)
    >>> check.done()      # raises InvalidValue naming queue and max_attempts
    """

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def __call__(self, check: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return check(*args, **kwargs)
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None

    def add(self, field: str, message: str, kind: type[Exception] = ValueError) -> None:
        self.problems.append(Problem(field, message, kind))

    def done(self) -> None:
        if self.problems:
            raise input_error(self.problems)
