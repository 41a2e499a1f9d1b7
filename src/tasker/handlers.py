"""Handler registration: options per task type, and how a handler is called."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from . import checks
from .enqueue import TaskDefaults
from .limits import MAX_ATTEMPTS, MAX_TIMEOUT, PRIORITY_RANGE
from .retry import RetryDelay, validate_policy


@dataclass(frozen=True)
class Handler:
    """A registered handler: the callable plus its options."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    wants_ctx: bool
    defaults: TaskDefaults
    retry_policy: RetryDelay | None = None
    isolation: str = "thread"   # sync handlers only: "thread" or "process" (killable)


def _wants_ctx(fn: Callable[..., Any], name: str) -> bool:
    """A handler takes ``payload`` or ``payload, ctx``; anything else is a registration error."""
    params = [
        p for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    has_varargs = any(p.kind == p.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values())
    if len(params) == 2 or has_varargs:
        return True
    if len(params) == 1:
        return False
    raise TypeError(f"handler {name!r} must take (payload) or (payload, ctx), not {len(params)} arguments")


def make_handler(
    name: str,
    fn: Callable[..., Any],
    *,
    max_attempts: int | None = None,
    timeout: float | None = None,
    retry_delay: RetryDelay | None = None,
    queue: str | None = None,
    priority: int | None = None,
    isolation: str = "thread",
    **extra: Any,
) -> Handler:
    """Validate a registration now, so that a typo fails at import, not at 3 a.m."""
    checks.name(name, "type", "task type")
    if extra:
        raise TypeError(f"unknown handler option(s) for {name!r}: {', '.join(sorted(extra))}")
    if not callable(fn):
        raise TypeError(f"handler {name!r} must be callable")
    policy = validate_policy(retry_delay)
    is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))
    if isolation not in ("thread", "process"):
        raise ValueError(f"isolation must be 'thread' or 'process', got {isolation!r}")
    if isolation == "process" and is_async:
        raise ValueError(f"isolation='process' is for sync handlers; {name!r} is async (it is cancelled directly)")
    defaults = TaskDefaults(
        max_attempts=TaskDefaults.max_attempts if max_attempts is None else checks.integer(max_attempts, "max_attempts", 1, MAX_ATTEMPTS),
        timeout=TaskDefaults.timeout if timeout is None else checks.seconds(timeout, "timeout", MAX_TIMEOUT, positive=True),
        queue=TaskDefaults.queue if queue is None else checks.name(queue, "queue"),
        priority=TaskDefaults.priority if priority is None else checks.integer(priority, "priority", *PRIORITY_RANGE),
        retry_delay=None,
    )
    return Handler(
        name=name,
        fn=fn,
        is_async=is_async,
        wants_ctx=_wants_ctx(fn, name),
        defaults=defaults,
        retry_policy=policy,
        isolation=isolation,
    )
