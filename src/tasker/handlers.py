"""Handler registration: options per task type, and how a handler is called."""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from . import arguments, checks
from .checks import Checks
from .enqueue import TaskDefaults
from .errors import InputError, Problem, input_error
from .limits import MAX_ATTEMPTS, MAX_DELAY, MAX_TIMEOUT, PRIORITY_RANGE
from .retry import RetryDelay, validate_policy

ExceptionTypes = tuple[type[BaseException], ...]


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
    retry_on: ExceptionTypes | None = None   # only these are retried (None: any)
    dont_retry_on: ExceptionTypes = ()       # these fail the task at once
    payload_model: Any = None                # a pydantic model or dataclass the payload must fit
    retention: float | None = None           # seconds finished tasks of this type are kept (None: until cleanup)
    concurrency_limit: int | None = None     # at most this many running at once, across every worker
    rate_limit: tuple[int, float] | None = None   # at most (starts, per seconds), across every worker

    def no_retry_reason(self, error: BaseException | None) -> str | None:
        """Why an attempt that ended with ``error`` is not retried, or None (a timeout is a TimeoutError)."""
        kind = TimeoutError if error is None else type(error)
        if any(issubclass(kind, t) for t in self.dont_retry_on):
            return f"{kind.__name__} is listed in dont_retry_on"
        if self.retry_on is not None and not any(issubclass(kind, t) for t in self.retry_on):
            return f"{kind.__name__} is not listed in retry_on"
        return None

    def prepare_payload(self, payload: Any) -> Any:
        """The payload as stored: checked against ``payload_model`` (a model instance or a
        value that fits it) and turned into JSON; refused naming the field that does not fit."""
        if self.payload_model is None:
            return payload
        return arguments.encode(model_instance(self.payload_model, payload), self.payload_model)


def model_instance(model: Any, payload: Any) -> Any:
    """``payload`` as an instance of ``model`` (pydantic model or dataclass), or an InputError naming each field."""
    if isinstance(payload, model):
        return payload
    if arguments.is_model(model):
        import pydantic

        try:
            return model.model_validate(payload)
        except pydantic.ValidationError as exc:
            raise input_error([Problem(".".join(["payload", *map(str, e["loc"])]), f"payload.{'.'.join(map(str, e['loc']))}: {e['msg']}")
                               for e in exc.errors()]) from None
    if not isinstance(payload, dict):
        checks.refuse("payload", f"payload must be an object with the fields of {model.__name__}, not {type(payload).__name__}", TypeError)
    check = Checks()
    names = {f.name for f in dataclasses.fields(model)}
    for unknown in sorted(set(payload) - names):
        check.add(f"payload.{unknown}", f"payload.{unknown}: not a field of {model.__name__}")
    for field in dataclasses.fields(model):
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        if required and field.name not in payload:
            check.add(f"payload.{field.name}", f"payload.{field.name}: required by {model.__name__}")
    check.done()
    try:
        return arguments.decode(payload, model)
    except InputError:
        raise
    except Exception as exc:
        checks.refuse("payload", f"payload does not fit {model.__name__}: {exc}")


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


def _exception_types(value: Any, option: str) -> ExceptionTypes:
    types = (value,) if isinstance(value, type) else tuple(value)
    if not all(isinstance(t, type) and issubclass(t, BaseException) for t in types):
        raise TypeError(f"{option} must be an exception class or a tuple of them, got {value!r}")
    return types


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
    retry_on: Any = None,
    dont_retry_on: Any = (),
    cancellable: bool = True,
    payload: Any = None,
    retention: Any = None,
    concurrency_limit: Any = None,
    rate_limit: Any = None,
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
    if not isinstance(cancellable, bool):
        raise TypeError(f"cancellable must be True or False, got {cancellable!r}")
    if payload is not None and not (arguments.is_model(payload) or (isinstance(payload, type) and dataclasses.is_dataclass(payload))):
        raise TypeError(f"payload= must be a pydantic model or a dataclass, got {payload!r}")
    defaults = TaskDefaults(
        max_attempts=TaskDefaults.max_attempts if max_attempts is None else checks.integer(max_attempts, "max_attempts", 1, MAX_ATTEMPTS),
        timeout=TaskDefaults.timeout if timeout is None else checks.seconds(timeout, "timeout", MAX_TIMEOUT, positive=True),
        queue=TaskDefaults.queue if queue is None else checks.name(queue, "queue"),
        priority=TaskDefaults.priority if priority is None else checks.integer(priority, "priority", *PRIORITY_RANGE),
        retry_delay=None,
        cancellable=cancellable,
    )
    wants_ctx = _wants_ctx(fn, name)
    return Handler(
        name=name,
        fn=fn if payload is None else (AsyncModelHandler if is_async else ModelHandler)(fn, payload),
        is_async=is_async,
        wants_ctx=wants_ctx,
        defaults=defaults,
        retry_policy=policy,
        isolation=isolation,
        retry_on=None if retry_on is None else _exception_types(retry_on, "retry_on"),
        dont_retry_on=_exception_types(dont_retry_on, "dont_retry_on"),
        payload_model=payload,
        retention=None if retention is None else checks.seconds(retention, "retention", MAX_DELAY, positive=True),
        concurrency_limit=checks.concurrency_limit(concurrency_limit),
        rate_limit=checks.rate_limit(rate_limit),
    )


class ModelHandler:
    """A handler declared with ``payload=Model``: called with the payload rebuilt as a Model."""

    def __init__(self, fn: Callable[..., Any], model: Any):
        self.fn, self.model = fn, model

    def __call__(self, payload: Any, *ctx: Any) -> Any:
        return self.fn(arguments.decode(payload, self.model), *ctx)


class AsyncModelHandler(ModelHandler):
    async def __call__(self, payload: Any, *ctx: Any) -> Any:
        return await self.fn(arguments.decode(payload, self.model), *ctx)
