"""``TaskerBackend``: Django's tasks backend interface (``BaseTaskBackend``) on a Tasker store.

One class serves Django 6's ``django.tasks`` and the ``django_tasks`` backport: it subclasses
whichever ``BaseTaskBackend`` this Django has (``interface.py``).

A Django task is a Tasker task whose type is the function's import path
(``myapp.tasks.send_welcome``) and whose payload is ``{"args": [...], "kwargs": {...}}``.
Django's priorities (-100..100) are Tasker's as they are (Tasker's range holds them, higher
first in both); ``queue_name`` is the Tasker queue; ``run_after`` is ``run_at``.
"""
from __future__ import annotations

import inspect
import os
import socket
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils.module_loading import import_string

from ...task import Task as StoredTask
from ...task import TaskStatus
from . import project
from .interface import django_tasks

# Tasker's status -> Django's. Django has no "cancelled": a cancelled task did not succeed.
STATUSES = {
    TaskStatus.QUEUED: "READY",
    TaskStatus.RUNNING: "RUNNING",
    TaskStatus.SUCCEEDED: "SUCCESSFUL",
    TaskStatus.FAILED: "FAILED",
    TaskStatus.CANCELLED: "FAILED",
}
META_KEY = "django"     # meta of the tasks this backend made: {"backend": alias, "deferred": bool}
DEFAULT_MAX_ATTEMPTS = 1  # Django's tasks have no retries: a task that raises has FAILED
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


class TaskerBackend(django_tasks.BaseTaskBackend):
    """Django's tasks on Tasker: ``TASKS = {"default": {"BACKEND": "tasker.contrib.django.TaskerBackend"}}``.

    ``QUEUES`` (Django's key) limits the queue names tasks may use; ``OPTIONS`` takes
    ``MAX_ATTEMPTS`` (default 1: a task that raises is FAILED) and ``TIMEOUT`` (seconds).

    >>> result = send_welcome.using(priority=50, run_after=tomorrow).enqueue(42)
    >>> send_welcome.get_result(result.id).status
    """

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        unknown = sorted(set(self.options) - {"MAX_ATTEMPTS", "TIMEOUT"})
        if unknown:
            raise ValueError(f"unknown OPTIONS for the {alias!r} tasks backend: {', '.join(unknown)}; use MAX_ATTEMPTS, TIMEOUT")
        self.max_attempts = int(self.options.get("MAX_ATTEMPTS") or project.options().get("MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS)
        self.timeout = self.options.get("TIMEOUT") or project.options().get("TIMEOUT")

    def validate_task(self, task: Any) -> None:
        """Django's checks; a valid task's function becomes runnable by this process's workers
        (each ``@task`` is validated where it is defined, so importing it registers it)."""
        super().validate_task(task)
        handler_options = {"timeout": float(self.timeout)} if self.timeout else {}
        project.register(task.module_path, _runner(task.module_path, inspect.iscoroutinefunction(task.func)), **handler_options)

    def check(self, **kwargs: Any) -> list[Any]:
        """Django's system checks: say so when enqueueing cannot join Django's transactions."""
        from django.core.checks import Warning

        issues = list(super().check(**kwargs))
        if project.in_django_database() and not project.shares_database():
            issues.append(Warning(
                "Tasker keeps its tasks in Django's PostgreSQL database but Django uses psycopg2: tasks are "
                "written on Tasker's own connections, not in Django's transactions",
                hint="install psycopg 3 (pip install 'psycopg[binary]'); Django uses it when both are installed",
                id="tasker.W001",
            ))
        return issues

    # -- producing ---------------------------------------------------------------------

    def enqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """Store the task (in Django's transaction when Tasker shares its database)."""
        self.validate_task(task)
        result = self._new_result(task, args, kwargs)
        type_, payload, options = self._create_arguments(task, result)
        task_id = project.tasker().create(type_, payload, connection=project.shared_connection(), **options)
        return self._enqueued(result, task_id)

    async def aenqueue(self, task: Any, args: Any, kwargs: Any) -> Any:
        """Async twin of ``enqueue``; on Django's connection it runs in Django's sync thread, as the ORM does."""
        if await sync_to_async(project.shares_database)():
            return await sync_to_async(self.enqueue, thread_sensitive=True)(task, args, kwargs)
        self.validate_task(task)
        result = self._new_result(task, args, kwargs)
        type_, payload, options = self._create_arguments(task, result)
        task_id = await project.tasker().acreate(type_, payload, **options)
        return self._enqueued(result, task_id)

    def _new_result(self, task: Any, args: Any, kwargs: Any) -> Any:
        # Django's TaskResult normalizes args and kwargs to JSON (and refuses what is not).
        return django_tasks.TaskResult(
            task=task, id="", status=django_tasks.TaskResultStatus.READY, enqueued_at=None, started_at=None,
            finished_at=None, last_attempted_at=None, args=list(args), kwargs=dict(kwargs), backend=self.alias,
            errors=[], worker_ids=[],
        )

    def _create_arguments(self, task: Any, result: Any) -> tuple[str, Any, dict[str, Any]]:
        options: dict[str, Any] = dict(
            queue=task.queue_name, priority=task.priority, run_at=_aware(task.run_after), max_attempts=self.max_attempts,
            meta={META_KEY: {"backend": self.alias, "deferred": task.run_after is not None}},
        )
        if self.timeout:
            options["timeout"] = float(self.timeout)
        return task.module_path, {"args": result.args, "kwargs": result.kwargs}, options

    def _enqueued(self, result: Any, task_id: str) -> Any:
        object.__setattr__(result, "id", task_id)
        object.__setattr__(result, "enqueued_at", _now())
        django_tasks.task_enqueued.send(type(self), task_result=result)
        return result

    # -- reading -----------------------------------------------------------------------

    def get_result(self, result_id: str) -> Any:
        """The task's ``TaskResult`` as stored now; ``TaskResultDoesNotExist`` for an unknown id."""
        return self._result_of(result_id, project.tasker().get(result_id))

    async def aget_result(self, result_id: str) -> Any:
        """Async twin of ``get_result``."""
        app = await sync_to_async(project.tasker)()
        return self._result_of(result_id, await app.aget(result_id))

    def _result_of(self, result_id: str, stored: StoredTask | None) -> Any:
        if stored is None or not isinstance(stored.meta, dict) or META_KEY not in stored.meta:
            raise django_tasks.TaskResultDoesNotExist(result_id)
        try:
            defined = import_string(stored.type)
        except ImportError:
            raise django_tasks.TaskResultDoesNotExist(f"{result_id}: its task {stored.type!r} cannot be imported") from None
        deferred = bool(stored.meta[META_KEY].get("deferred"))
        task = defined.using(priority=stored.priority, queue_name=stored.queue, backend=self.alias,
                             run_after=_django_time(stored.run_at) if deferred else None)
        payload = stored.payload if isinstance(stored.payload, dict) else {}
        result = django_tasks.TaskResult(
            task=task, id=stored.id, status=django_tasks.TaskResultStatus[STATUSES[stored.status]],
            enqueued_at=_django_time(stored.created_at), started_at=_django_time(stored.started_at),
            finished_at=_django_time(stored.finished_at), last_attempted_at=_django_time(stored.started_at), args=payload.get("args", []), kwargs=payload.get("kwargs", {}),
            backend=self.alias, errors=[_task_error(e.get("error") or "") for e in stored.errors],
            worker_ids=[stored.worker_id or ""] * stored.attempts,
        )
        if stored.status is TaskStatus.CANCELLED and not stored.errors:
            result.errors.append(django_tasks.TaskError(exception_class_path="tasker.Cancelled", traceback=stored.last_error or "cancelled"))
        object.__setattr__(result, "_return_value", stored.result)
        return result


def _aware(moment: datetime | None) -> datetime | None:
    """A naive ``run_after`` (``USE_TZ = False``) is in Django's ``TIME_ZONE``, not UTC as Tasker reads naive times."""
    from django.utils import timezone

    return timezone.make_aware(moment) if moment is not None and timezone.is_naive(moment) else moment


def _django_time(moment: datetime | None) -> datetime | None:
    """Tasker's aware times as Django expects them: naive in ``TIME_ZONE`` when ``USE_TZ = False``."""
    from django.conf import settings
    from django.utils import timezone

    return timezone.make_naive(moment) if moment is not None and not settings.USE_TZ else moment


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def _task_error(text: str) -> Any:
    return django_tasks.TaskError(exception_class_path=exception_class_path(text), traceback=text)


def exception_class_path(error: str) -> str:
    """The exception's import path from Tasker's error text (``Name: message``, then the
    traceback, whose last ``module.Name: message`` line names its module)."""
    name = error.partition(":")[0].strip()
    if not name or not name.isidentifier():
        return "builtins.Exception"
    for line in reversed(error.splitlines()):
        head = line.partition(":")[0].strip()
        if head.endswith("." + name) and all(part.isidentifier() for part in head.split(".")):
            return head
    return f"builtins.{name}"


# -- running (in the worker) ---------------------------------------------------------------

def _runner(path: str, is_async: bool) -> Any:
    """The Tasker handler that runs Django's task ``path`` with its signals and context."""
    if is_async:
        async def run_async(payload: dict[str, Any], ctx: Any) -> Any:
            task, result = _running(path, payload, ctx)
            await sync_to_async(_send)(django_tasks.task_started, result)
            try:
                value = await task.func(*_call_args(task, result, payload), **payload.get("kwargs", {}))
            except BaseException as exc:
                await sync_to_async(_finish)(result, ctx, exc)
                raise
            return await sync_to_async(_finish)(result, ctx, None, value)

        return run_async

    def run(payload: dict[str, Any], ctx: Any) -> Any:
        close_old_connections()     # as Django does around a request: a worker thread lives long
        try:
            task, result = _running(path, payload, ctx)
            _send(django_tasks.task_started, result)
            try:
                value = task.func(*_call_args(task, result, payload), **payload.get("kwargs", {}))
            except BaseException as exc:
                _finish(result, ctx, exc)
                raise
            return _finish(result, ctx, None, value)
        finally:
            close_old_connections()

    return run


def _running(path: str, payload: dict[str, Any], ctx: Any) -> tuple[Any, Any]:
    task = import_string(path)
    now = _now()
    result = django_tasks.TaskResult(
        task=task, id=ctx.task_id, status=django_tasks.TaskResultStatus.RUNNING, enqueued_at=None, started_at=now,
        finished_at=None, last_attempted_at=now, args=payload.get("args", []), kwargs=payload.get("kwargs", {}),
        backend=task.backend, errors=[], worker_ids=[WORKER_ID] * ctx.attempt,
    )
    return task, result


def _call_args(task: Any, result: Any, payload: dict[str, Any]) -> list[Any]:
    args = list(payload.get("args", []))
    return [django_tasks.TaskContext(task_result=result), *args] if task.takes_context else args


def _finish(result: Any, ctx: Any, error: BaseException | None, value: Any = None) -> Any:
    import json
    import traceback

    object.__setattr__(result, "finished_at", _now())
    if error is None:
        value = json.loads(json.dumps(value))   # what the store keeps, and get_result returns
        object.__setattr__(result, "status", django_tasks.TaskResultStatus.SUCCESSFUL)
        object.__setattr__(result, "_return_value", value)
    else:
        kind = type(error)
        result.errors.append(django_tasks.TaskError(
            exception_class_path=f"{kind.__module__}.{kind.__qualname__}", traceback="".join(traceback.format_exception(error))))
        final = ctx.attempt >= ctx.max_attempts
        object.__setattr__(result, "status", django_tasks.TaskResultStatus.FAILED if final else django_tasks.TaskResultStatus.READY)
    _send(django_tasks.task_finished, result)
    return value


def _send(signal: Any, result: Any) -> None:
    signal.send(TaskerBackend, task_result=result)
