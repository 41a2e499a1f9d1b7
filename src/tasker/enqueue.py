"""Turning a ``create`` call into a row to insert: validation and defaults (pure).

Everything here runs before any I/O, so bad input is refused with nothing stored.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Sequence

from .ids import is_id, new_ids
from .retry import seconds_of

MAX_NAME_LENGTH = 255
DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_TIMEOUT = 300.0
DEFAULT_QUEUE = "default"
DEFAULT_PRIORITY = 0
PRIORITY_RANGE = (-(2**31), 2**31 - 1)
EARLIEST_EPOCH = -62135596800.0     # 0001-01-01T00:00:00Z
LATEST_EPOCH = 253402300799.0       # 9999-12-31T23:59:59Z
MAX_DELAY = 1e10
ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True)
class TaskDefaults:
    """Per-type defaults from a registered handler (or the global ones)."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    timeout: float = DEFAULT_TIMEOUT
    queue: str = DEFAULT_QUEUE
    priority: int = DEFAULT_PRIORITY
    retry_delay: float | None = None


class NewTask(NamedTuple):
    """A validated task ready for ``Store.insert_tasks`` (a tuple: batches make thousands)."""

    id: str
    type: str
    payload_json: str
    queue: str
    priority: int
    run_at: float | None        # absolute, epoch seconds; None: the store's now + delay
    delay: float
    max_attempts: int
    timeout: float
    retry_delay: float | None
    unique_key: str | None
    meta_json: str | None
    depends_on: tuple[str, ...] = ()


_ENCODE = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False).encode


def to_json(value: Any, what: str) -> str:
    """Serialize strictly: JSON only, no NaN or Infinity, no silent str() fallback."""
    try:
        return _ENCODE(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} is not JSON-serializable: {exc}") from None


def check_name(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is {len(value)} characters long; the limit is {MAX_NAME_LENGTH}")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        # Names end up in logs and terminals: a newline or an escape sequence could forge them.
        raise ValueError(f"{what} must not contain control characters (such as newlines or NUL): {value!r}")
    return value


def check_int(value: Any, what: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{what} must be <= {maximum}, got {value}")
    return value


def check_timeout(value: Any) -> float:
    seconds = seconds_of(value, "timeout")
    if seconds <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {value!r}")
    return seconds


def epoch_of(when: Any, what: str = "run_at") -> float:
    """An aware datetime (naive means UTC) or epoch seconds, as epoch seconds."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return when.timestamp()
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise TypeError(f"{what} must be a datetime or epoch seconds, not {type(when).__name__}")
    if not math.isfinite(when):
        raise ValueError(f"{what} must be finite, got {when!r}")
    if not EARLIEST_EPOCH <= when <= LATEST_EPOCH:
        raise ValueError(f"{what} must fall between the years 1 and 9999, got {when!r} epoch seconds")
    return float(when)


def check_delay(delay: Any) -> float:
    seconds = seconds_of(delay, "delay")
    if seconds > MAX_DELAY:
        raise ValueError(f"delay must be at most {MAX_DELAY:g} seconds (about 300 years), got {seconds:g}")
    return seconds


def check_json_text(text: str, what: str) -> int:
    """Refuse what one of the stores cannot keep, on both (PostgreSQL's jsonb has no NUL);
    returns the size in bytes."""
    if "\\u0000" in text and ESCAPED_NUL.search(text):
        raise ValueError(f"{what} contains a NUL character (\\u0000), which PostgreSQL cannot store")
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"{what} contains a lone surrogate, which is not valid Unicode text") from None


def storable_json(value: Any, what: str) -> str:
    """JSON text both stores can keep, or TypeError/ValueError naming ``what``."""
    text = to_json(value, what)
    check_json_text(text, what)
    return text


def check_payload(payload: Any, limit: int) -> str:
    text = to_json(payload, "payload")
    size = check_json_text(text, "payload")
    if size > limit:
        raise ValueError(f"payload is {size} bytes as JSON; the limit is {limit} bytes")
    return text


def check_meta(meta: Any, limit: int) -> str | None:
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a JSON object (a dict), not {type(meta).__name__}")
    text = to_json(dict(meta), "meta")
    if check_json_text(text, "meta") > limit:
        raise ValueError(f"meta is larger than the limit of {limit} bytes")
    return text


def check_depends_on(depends_on: Iterable[str] | None) -> tuple[str, ...]:
    if depends_on is None:
        return ()
    if isinstance(depends_on, (str, bytes)):
        raise TypeError("depends_on must be a list of task ids, not a single string")
    ids = tuple(depends_on)
    for dep in ids:
        if not is_id(dep):
            raise ValueError(f"depends_on has {dep!r}, which is not a task id")
    return tuple(dict.fromkeys(ids))


def build_new_task(type: Any, payload: Any, defaults: TaskDefaults, **options: Any) -> NewTask:
    """Validate one ``create`` call; raise TypeError/ValueError naming the problem."""
    limit = options.get("max_payload_bytes", DEFAULT_MAX_PAYLOAD_BYTES)
    shared = shared_options(type, defaults, **options)
    return NewTask(new_ids(1)[0], type, check_payload(payload, limit), *shared)


class TaskBatch(Sequence[NewTask]):
    """Tasks that share their options: one id and payload each, the rest once.

    Payloads are checked on first need, in order, so a store can stream the first
    rows (PostgreSQL's COPY) while the next are checked; a bad one raises, naming
    its position, inside the store's transaction, and nothing is stored."""

    def __init__(self, template: NewTask, ids: list[str], payloads: list[Any], limit: int):
        self.template = template    # the shared options (its id and payload are placeholders)
        self.ids = ids
        self._payloads = payloads
        self._limit = limit
        self._texts: list[str] = []

    def payloads_json(self, start: int = 0, stop: int | None = None) -> list[str]:
        """Checked JSON text of payloads ``start:stop``."""
        stop = len(self.ids) if stop is None else min(stop, len(self.ids))
        texts, payloads, limit = self._texts, self._payloads, self._limit
        for position in range(len(texts), stop):
            texts.append(_payload_at(position, payloads[position], limit))
        return texts[start:stop]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = range(len(self))[index]   # negative indexes too; IndexError past the end
        return self.template._replace(id=self.ids[position], payload_json=self.payloads_json(position, position + 1)[0])

    def __iter__(self) -> Iterator[NewTask]:
        replace = self.template._replace
        return (replace(id=i, payload_json=p) for i, p in zip(self.ids, self.payloads_json()))


def needs_lookups(tasks: Sequence[NewTask]) -> bool:
    """Whether inserting these needs more than one plain statement (unique keys to
    resolve, dependencies to check and link); a batch answers from its shared options."""
    sample = [tasks.template] if isinstance(tasks, TaskBatch) else tasks
    return any(t.unique_key or t.depends_on for t in sample)


def build_new_tasks(type: Any, payloads: Iterable[Any], defaults: TaskDefaults, **options: Any) -> TaskBatch:
    """A batch sharing its options, checked at once; its payloads are checked as the
    store reads them (``payload at position 3: ...`` names a bad one)."""
    limit = options.get("max_payload_bytes", DEFAULT_MAX_PAYLOAD_BYTES)
    shared = shared_options(type, defaults, **options)
    payloads = list(payloads)
    return TaskBatch(NewTask("", type, "null", *shared), new_ids(len(payloads)), payloads, limit)


def shared_options(
    type: Any,
    defaults: TaskDefaults,
    *,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    run_at: Any = None,
    delay: Any = None,
    max_attempts: Any = None,
    priority: Any = None,
    queue: Any = None,
    unique_key: Any = None,
    depends_on: Any = None,
    timeout: Any = None,
    meta: Any = None,
    retry_delay: Any = None,
) -> tuple[Any, ...]:
    """The checked options, in ``NewTask``'s field order after the payload."""
    check_name(type, "task type")
    if run_at is not None and delay is not None:
        raise ValueError("give run_at or delay, not both")
    if unique_key is not None:
        check_name(unique_key, "unique_key")
    return (
        check_name(defaults.queue if queue is None else queue, "queue"),
        check_int(defaults.priority if priority is None else priority, "priority", *PRIORITY_RANGE),
        None if run_at is None else epoch_of(run_at),
        0.0 if delay is None else check_delay(delay),
        check_int(defaults.max_attempts if max_attempts is None else max_attempts, "max_attempts", 1, 10_000),
        check_timeout(defaults.timeout if timeout is None else timeout),
        defaults.retry_delay if retry_delay is None else seconds_of(retry_delay),
        unique_key,
        check_meta(meta, max_payload_bytes),
        check_depends_on(depends_on),
    )


def _payload_at(position: int, payload: Any, limit: int) -> str:
    try:
        return check_payload(payload, limit)
    except (TypeError, ValueError) as exc:
        raise type_of(exc)(f"payload at position {position}: {exc}") from None


def type_of(exc: Exception) -> type[Exception]:
    return TypeError if isinstance(exc, TypeError) else ValueError


def as_timedelta_seconds(value: Any, what: str) -> float | None:
    """``older_than``-style arguments: None, seconds or a timedelta."""
    if value is None:
        return None
    return seconds_of(value, what)


__all__ = ["NewTask", "TaskBatch", "TaskDefaults", "build_new_task", "build_new_tasks", "needs_lookups"]
