"""Sentry for a Tasker app (``pip install tasker-queue[sentry]``): errors, traces and cron check-ins.

``instrument(app)``, after ``sentry_sdk.init(...)``, in the producing and the worker process:

- each create carries the creator's Sentry trace (``sentry-trace`` and ``baggage`` headers),
  and each attempt runs in a ``queue.process`` transaction continuing it, in a scope of its own;
- an exception a handler raises is captured with the task's id, type, attempt and queue as
  tags (``Retry`` and ``Snooze``, which are flow control, are not);
- each run of a recurring series reports Sentry cron check-ins (in progress, then ok or error
  once it ends for good) to a monitor named after the series (or its task type), with the
  series' schedule as the monitor's configuration.

>>> import sentry_sdk
>>> from tasker.contrib.sentry import instrument
>>> sentry_sdk.init(dsn=SENTRY_DSN, traces_sample_rate=0.1)
>>> instrument(app)
"""
from __future__ import annotations

import math
import re
import time
from typing import Any, Awaitable, Callable, cast

import sentry_sdk
from sentry_sdk.crons import MonitorStatus, capture_checkin
from sentry_sdk.tracing import TransactionSource

from .. import Creation
from ..app import Tasker
from ..context import TaskContext
from ..outcome import Retry, Snooze
from ..series import Schedule

TRACE_HEADERS = ("sentry-trace", "baggage")
CHECK_IN = "sentry.check_in_id"      # header: the open check-in of a series run, kept across its attempts
NOT_ERRORS = (Retry, Snooze)         # flow control a handler raises on purpose
_INSTRUMENTED = "_sentry_instrumented"


def instrument(app: Tasker, monitor_series: bool = True) -> None:
    """Report ``app``'s task errors, traces and (with ``monitor_series``) series check-ins to Sentry."""
    if getattr(app, _INSTRUMENTED, False):
        return
    app.on_create(_carry_trace)
    app.middleware(_Attempts(app, monitor_series))
    setattr(app, _INSTRUMENTED, True)


def _carry_trace(creation: Creation) -> None:
    traceparent, baggage = sentry_sdk.get_traceparent(), sentry_sdk.get_baggage()
    if traceparent:
        creation.headers["sentry-trace"] = traceparent
    if baggage:
        creation.headers["baggage"] = baggage


class _Attempts:
    """The middleware: one isolated scope and transaction per attempt; errors and check-ins reported."""

    def __init__(self, app: Tasker, monitor_series: bool):
        self.app, self.monitor_series = app, monitor_series
        self.series: dict[str, Schedule] = {}

    async def __call__(self, ctx: TaskContext, call_next: Callable[[], Awaitable[Any]]) -> Any:
        monitor = await self._monitor(ctx) if self.monitor_series and ctx.series_id else None
        with sentry_sdk.isolation_scope() as scope:
            scope.set_tag("tasker.task_id", ctx.task_id)
            scope.set_tag("tasker.task_type", ctx.type)
            scope.set_tag("tasker.attempt", str(ctx.attempt))
            scope.set_tag("tasker.queue", ctx.queue)
            scope.set_context("tasker", {"task_id": ctx.task_id, "type": ctx.type, "attempt": ctx.attempt,
                                         "max_attempts": ctx.max_attempts, "queue": ctx.queue, "series_id": ctx.series_id})
            carried = {name: ctx.headers[name] for name in TRACE_HEADERS if isinstance(ctx.headers.get(name), str)}
            transaction = sentry_sdk.continue_trace(carried, op="queue.process", name=ctx.type, source=TransactionSource.TASK,
                                                    origin="auto.queue.tasker")
            transaction.set_data("messaging.message.id", ctx.task_id)
            transaction.set_data("messaging.destination.name", ctx.queue)
            transaction.set_data("messaging.message.retry.count", ctx.attempt - 1)
            check_in = self._check_in(ctx, monitor) if monitor else None
            started = time.monotonic()
            with sentry_sdk.start_transaction(transaction):
                try:
                    result = await call_next()
                except BaseException as exc:
                    if isinstance(exc, Exception) and not isinstance(exc, NOT_ERRORS):
                        sentry_sdk.capture_exception(exc)
                        transaction.set_status("internal_error")
                    if check_in and (ctx.attempt >= ctx.max_attempts or not isinstance(exc, Exception)):
                        capture_checkin(check_in[0], check_in[1], MonitorStatus.ERROR, time.monotonic() - started)
                    raise
                transaction.set_status("ok")
            if check_in:
                capture_checkin(check_in[0], check_in[1], MonitorStatus.OK, time.monotonic() - started)
            return result

    def _check_in(self, ctx: TaskContext, monitor: tuple[str, dict[str, Any]]) -> tuple[str, str | None]:
        """An in-progress check-in for this run; its id is kept in the headers for later attempts."""
        slug, config = monitor
        opened = ctx.headers.get(CHECK_IN)
        check_in_id = capture_checkin(slug, opened, MonitorStatus.IN_PROGRESS, monitor_config=cast(Any, config) if not opened else None)
        if check_in_id and not opened:
            ctx.headers[CHECK_IN] = check_in_id
        return slug, check_in_id or opened

    async def _monitor(self, ctx: TaskContext) -> tuple[str, dict[str, Any]] | None:
        """The series' monitor slug and configuration (series read once per process, then cached)."""
        assert ctx.series_id is not None
        if ctx.series_id not in self.series:
            self.series.update({s.id: s for s in await self.app.aschedules(include_cancelled=True)})
        series = self.series.get(ctx.series_id)
        if series is None:
            return None
        return monitor_slug(series.name or series.type), monitor_config(series, ctx)


def monitor_slug(name: str) -> str:
    """A Sentry monitor slug: lowercase letters, digits, ``-`` and ``_``, at most 50 characters."""
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")[:50] or "tasker-series"


def monitor_config(series: Schedule, ctx: TaskContext) -> dict[str, Any]:
    """The monitor's schedule, as Sentry takes it (crontab, or an interval in whole minutes)."""
    if series.cron:
        schedule: dict[str, Any] = {"type": "crontab", "value": series.cron}
    else:
        schedule = {"type": "interval", "value": max(1, math.ceil((series.every or 60.0) / 60.0)), "unit": "minute"}
    config: dict[str, Any] = {"schedule": schedule, "checkin_margin": 1}
    if series.timezone:
        config["timezone"] = series.timezone
    return config
