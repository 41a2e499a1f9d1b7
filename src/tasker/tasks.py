"""Typed function tasks: ``@app.task`` turns a function into a task type with ``defer``.

The function's own signature is the contract: ``defer`` takes exactly its parameters
(type checkers see them, through ``ParamSpec``), a call that does not fit raises
``TypeError`` with nothing stored, and values annotated as dataclasses, datetimes,
UUIDs, Decimals, Enums or pydantic models are stored as JSON and rebuilt in the worker.
"""
from __future__ import annotations

import functools
import importlib
import inspect
from typing import TYPE_CHECKING, Any, Callable, Generic, ParamSpec, TypeVar

from .arguments import Signature, result_of
from .enqueue import TASK_OPTIONS
from .tracebacks import calls_user_code

if TYPE_CHECKING:
    from .app import Tasker

P = ParamSpec("P")
R = TypeVar("R")


class Deferral(Generic[P]):
    """``task.using(delay=30, priority=5)``: ``defer`` / ``adefer`` with those per-task options."""

    def __init__(self, task: "TaskFunction[P, Any]", options: dict[str, Any]):
        unknown = set(options) - {*TASK_OPTIONS, "connection"}
        if unknown:
            raise TypeError(f"unknown task option(s) for using(): {', '.join(sorted(unknown))}; use {', '.join(TASK_OPTIONS)}, connection")
        self.task = task
        self.options = options

    def defer(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Store a run of the function with these arguments; returns the task id."""
        return self.task.app.create(self.task.name, self.task.signature.to_payload(args, kwargs), **self.options)

    async def adefer(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Async twin of ``defer``."""
        return await self.task.app.acreate(self.task.name, self.task.signature.to_payload(args, kwargs), **self.options)


class TaskFunction(Generic[P, R]):
    """A function registered as a task type. Calling it runs it here, as before;
    ``defer`` stores a run for a worker.

    >>> @app.task(max_attempts=5)
    ... def send_welcome(user_id: int, locale: str = "en") -> str: ...
    >>> send_welcome.defer(42, locale="fr")            # a task id
    >>> send_welcome.using(delay=30).defer(42)
    """

    def __init__(self, app: "Tasker", fn: Callable[P, R], name: str):
        self.app = app
        self.fn = fn
        self.name = name
        self.signature = Signature(fn)
        self.returns = self.signature.signature.return_annotation
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def defer(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Store a run of the function with these arguments (checked against its signature);
        returns the task id."""
        return Deferral(self, {}).defer(*args, **kwargs)

    async def adefer(self, *args: P.args, **kwargs: P.kwargs) -> str:
        """Async twin of ``defer``."""
        return await Deferral(self, {}).adefer(*args, **kwargs)

    def using(self, **options: Any) -> Deferral[P]:
        """Per-task options of ``create`` (``delay``, ``run_at``, ``priority``, ``queue``,
        ``unique_key``, ``connection``...) for the next ``defer``."""
        return Deferral(self, options)

    @calls_user_code
    def run_stored(self, payload: Any) -> Any:
        """What a worker calls: the stored call, its arguments rebuilt, its result as JSON."""
        args, kwargs = self.signature.from_payload(payload)
        return result_of(self.fn(*args, **kwargs), self.returns)

    @calls_user_code
    async def arun_stored(self, payload: Any) -> Any:
        args, kwargs = self.signature.from_payload(payload)
        value = await self.fn(*args, **kwargs)  # type: ignore[misc]
        return result_of(value, self.returns)

    def __reduce__(self) -> tuple[Any, ...]:
        # By reference (the module attribute it replaced), as pickle does for functions:
        # a process-isolated run finds it again by importing its module.
        return _find, (self.fn.__module__, self.fn.__qualname__)

    def __repr__(self) -> str:
        return f"<task {self.name}>"


class Runner:
    """The handler behind a sync function task (a class, so that it pickles for isolation="process")."""

    def __init__(self, task: TaskFunction[Any, Any]):
        self.task = task

    def __call__(self, payload: Any) -> Any:
        return self.task.run_stored(payload)


class AsyncRunner(Runner):
    async def __call__(self, payload: Any) -> Any:
        return await self.task.arun_stored(payload)


def runner_for(task: TaskFunction[Any, Any]) -> Runner:
    return AsyncRunner(task) if inspect.iscoroutinefunction(task.fn) else Runner(task)


def default_name(fn: Callable[..., Any]) -> str:
    """``module.qualname``: unique per function, and the same in every process that imports it."""
    return f"{fn.__module__}.{fn.__qualname__}"


def _find(module: str, qualname: str) -> Any:
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found
