"""Turning a ``create`` call into a row to insert: validation and defaults (pure).

Everything here runs before any I/O, so bad input is refused with nothing stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

from . import checks
from .checks import Checks
from .errors import InputError
from .ids import is_id, new_ids
from .limits import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DEFAULT_PRIORITY,
    DEFAULT_QUEUE,
    DEFAULT_TIMEOUT,
    MAX_ATTEMPTS,
    MAX_DEPENDENCIES,
    MAX_TIMEOUT,
    PRIORITY_RANGE,
)

# The per-task options of create / create_many (API.md), besides connection=.
TASK_OPTIONS = ("run_at", "delay", "max_attempts", "priority", "queue", "unique_key", "depends_on", "timeout", "meta", "retry_delay",
                "partition_key", "on_conflict", "concurrency_limit", "rate_limit")


@dataclass(frozen=True)
class TaskDefaults:
    """Per-type defaults from a registered handler (or the global ones)."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    timeout: float = DEFAULT_TIMEOUT
    queue: str = DEFAULT_QUEUE
    priority: int = DEFAULT_PRIORITY
    retry_delay: float | None = None
    cancellable: bool = True


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
    cancellable: bool = True    # False: a running task of this type is not interrupted by cancel
    headers_json: str | None = None   # instrumentation that travels with the task (trace context...)
    partition_key: str | None = None  # its type's and queue's flow limits hold per key
    replace: bool = False             # on_conflict="replace": a queued holder of unique_key takes this payload and run_at
    concurrency_limit: int | None = None   # its own limit, standing in for its type's
    rate_count: int | None = None          # its own rate limit (starts per rate_period seconds), likewise
    rate_period: float | None = None


def build_new_task(type: Any, payload: Any, defaults: TaskDefaults, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
                   headers: dict[str, Any] | None = None, **options: Any) -> NewTask:
    """Validate one ``create`` call; raise an ``InputError`` naming every problem."""
    check = Checks()
    check(checks.name, type, "type", "task type")
    payload_json = check(checks.json_text, payload, "payload", max_payload_bytes)
    shared = shared_options(check, defaults, max_payload_bytes, options) if options else _default_fields(defaults, max_payload_bytes)
    headers_json = check(checks.json_text, headers, "headers", max_payload_bytes) if headers else None
    check.done()
    assert payload_json is not None
    return NewTask(id=new_ids(1)[0], type=type, payload_json=payload_json, headers_json=headers_json, **shared)


class TaskBatch(Sequence[NewTask]):
    """Tasks that share their options: one id and payload each, the rest once.

    Payloads are checked on first need, in order, so a store can stream the first
    rows (PostgreSQL's COPY) while the next are checked; a bad one raises, naming
    its position, inside the store's transaction, and nothing is stored."""

    def __init__(self, template: NewTask, ids: list[str], payloads: list[Any], limit: int,
                 prepare: Callable[[Any], Any] | None = None):
        self.template = template    # the shared options (its id and payload are placeholders)
        self.ids = ids
        self._payloads = payloads
        self._limit = limit
        self._prepare = prepare     # a handler's payload model, checking and shaping each payload
        self._texts: list[str] = []

    def payloads_json(self, start: int = 0, stop: int | None = None) -> list[str]:
        """Checked JSON text of payloads ``start:stop``."""
        stop = len(self.ids) if stop is None else min(stop, len(self.ids))
        texts, payloads, limit = self._texts, self._payloads, self._limit
        for position in range(len(texts), stop):
            texts.append(_payload_at(position, payloads[position], limit, self._prepare))
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


def build_new_tasks(type: Any, payloads: Iterable[Any], defaults: TaskDefaults, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
                    prepare: Callable[[Any], Any] | None = None, headers: dict[str, Any] | None = None, **options: Any) -> TaskBatch:
    """A batch sharing its options, checked at once; its payloads are checked as the
    store reads them (``payload at position 3: ...`` names a bad one)."""
    if isinstance(payloads, (str, bytes, dict)):
        checks.refuse("payloads", "payloads must be a list (or other iterable) of payloads", TypeError)
    check = Checks()
    check(checks.name, type, "type", "task type")
    shared = shared_options(check, defaults, max_payload_bytes, options)
    headers_json = check(checks.json_text, headers, "headers", max_payload_bytes) if headers else None
    check.done()
    payloads = list(payloads)
    template = NewTask(id="", type=type, payload_json="null", headers_json=headers_json, **shared)
    return TaskBatch(template, new_ids(len(payloads)), payloads, max_payload_bytes, prepare)


def shared_options(check: Checks, defaults: TaskDefaults, max_payload_bytes: int, options: dict[str, Any]) -> dict[str, Any]:
    """The checked options, as ``NewTask`` fields; problems go to ``check``."""
    for unknown in sorted(set(options) - set(TASK_OPTIONS)):
        check.add(unknown, f"unknown task option {unknown!r}: use one of {', '.join(TASK_OPTIONS)}", TypeError)
    run_at, delay, retry_delay, unique_key = (options.get(k) for k in ("run_at", "delay", "retry_delay", "unique_key"))
    if run_at is not None and delay is not None:
        check.add("run_at", "give run_at or delay, not both")
    # Without a unique_key there is nothing to replace: "replace" then creates, like "keep".
    conflict = check(checks.on_conflict, options.get("on_conflict") or "keep")
    if callable(retry_delay):
        check.add("retry_delay", "a callable retry_delay can only be given to @app.handler, not per task", TypeError)
        retry_delay = None

    def option(name: str, default: Any) -> Any:
        value = options.get(name)
        return default if value is None else value

    return dict(
        queue=check(checks.name, option("queue", defaults.queue), "queue"),
        priority=check(checks.integer, option("priority", defaults.priority), "priority", *PRIORITY_RANGE),
        run_at=None if run_at is None else check(checks.moment, run_at, "run_at"),
        delay=0.0 if delay is None else check(checks.seconds, delay, "delay"),
        max_attempts=check(checks.integer, option("max_attempts", defaults.max_attempts), "max_attempts", 1, MAX_ATTEMPTS),
        timeout=check(checks.seconds, option("timeout", defaults.timeout), "timeout", MAX_TIMEOUT, positive=True),
        retry_delay=defaults.retry_delay if retry_delay is None else check(checks.seconds, retry_delay, "retry_delay"),
        unique_key=None if unique_key is None else check(checks.name, unique_key, "unique_key"),
        meta_json=None if options.get("meta") is None else check(meta_json, options["meta"], max_payload_bytes),
        depends_on=check(dependency_ids, options.get("depends_on")) or (),
        cancellable=defaults.cancellable,
        partition_key=None if options.get("partition_key") is None else check(checks.name, options["partition_key"], "partition_key"),
        replace=conflict == "replace",
        concurrency_limit=check(checks.concurrency_limit, options.get("concurrency_limit")),
        **_rate_fields(check(checks.rate_limit, options.get("rate_limit"))),
    )


@lru_cache(maxsize=256)
def _default_fields(defaults: TaskDefaults, max_payload_bytes: int) -> dict[str, Any]:
    """``shared_options`` of a call that gives no options: its type's defaults, checked when the
    handler was registered, so the most common ``create`` skips a dozen checks (read-only: shared)."""
    check = Checks()
    fields = shared_options(check, defaults, max_payload_bytes, {})
    check.done()
    return fields


def _rate_fields(rate: tuple[int, float] | None) -> dict[str, Any]:
    count, period = rate if rate is not None else (None, None)
    return {"rate_count": count, "rate_period": period}


def meta_json(meta: Any, limit: int) -> str:
    if not isinstance(meta, Mapping):
        checks.refuse("meta", f"meta must be a JSON object (a dict), not {type(meta).__name__}", TypeError)
    return checks.json_text(dict(meta), "meta", limit)


def dependency_ids(depends_on: Any) -> tuple[str, ...]:
    if depends_on is None:
        return ()
    if isinstance(depends_on, (str, bytes)) or not isinstance(depends_on, (list, tuple, set, frozenset)):
        checks.refuse("depends_on", f"depends_on must be a list of task ids, not {type(depends_on).__name__}", TypeError)
    for dep in depends_on:
        if not is_id(dep):
            checks.refuse("depends_on", f"depends_on has {dep!r}, which is not a task id (depends_on takes task ids)")
    ids = tuple(dict.fromkeys(depends_on))
    if len(ids) > MAX_DEPENDENCIES:
        checks.refuse("depends_on", f"depends_on names {len(ids)} tasks; the limit is {MAX_DEPENDENCIES}")
    return ids


def _payload_at(position: int, payload: Any, limit: int, prepare: Callable[[Any], Any] | None = None) -> str:
    try:
        return checks.json_text(payload if prepare is None else prepare(payload), "payload", limit)
    except InputError as exc:
        checks.refuse("payloads", f"payload at position {position}: {exc}", exc.problems[0].kind)


__all__ = ["NewTask", "TaskBatch", "TaskDefaults", "build_new_task", "build_new_tasks", "needs_lookups"]
