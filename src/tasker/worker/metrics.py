"""A worker's own Prometheus metrics (``tasker worker --metrics-port``): what this process ran.

Counters and true histograms, updated as the worker records each attempt, in a registry of
its own; they restart at zero with the process, which ``rate()`` expects of a counter. For
numbers across the whole fleet (and that survive restarts), scrape the dashboard's
``/metrics``, built from the store's tallies.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric

from ..store.records import Outcome
from ..tallies import RETRIED, RUN_BUCKETS, WAIT_BUCKETS
from ..task import TaskStatus
from .executor import Attempt

log = logging.getLogger("tasker.worker")


def outcome_label(outcome: Outcome) -> str:
    """What an attempt led to: succeeded, failed, cancelled, retried, or interrupted (its try not spent)."""
    if outcome.status is TaskStatus.QUEUED:
        return "interrupted" if outcome.refund_attempt else RETRIED
    return outcome.status.value


class WorkerMetrics:
    """Attempts by queue, type and outcome; run time and queue wait histograms; tasks held now."""

    def __init__(self, running: Callable[[], list[Attempt]]):
        self.registry = CollectorRegistry(auto_describe=True)
        self.attempts = Counter("tasker_worker_attempts", "Attempts this worker recorded, by what they led to",
                                ["queue", "type", "outcome"], registry=self.registry)
        self.run_seconds = Histogram("tasker_worker_task_run_seconds", "Run time of this worker's attempts",
                                     ["queue", "type", "outcome"], buckets=RUN_BUCKETS, registry=self.registry)
        self.wait_seconds = Histogram("tasker_worker_task_queue_wait_seconds", "Time from due to start, of this worker's attempts",
                                      ["queue", "type"], buckets=WAIT_BUCKETS, registry=self.registry)
        self.registry.register(_Held(running))
        self._server: Any = None

    def observe(self, attempt: Attempt, outcome: Outcome) -> None:
        task, label = attempt.task, outcome_label(outcome)
        self.attempts.labels(task.queue, task.type, label).inc()
        if outcome.duration is not None:
            self.run_seconds.labels(task.queue, task.type, label).observe(outcome.duration)
        if outcome.wait is not None:
            self.wait_seconds.labels(task.queue, task.type).observe(outcome.wait)

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` over HTTP from a daemon thread until ``close``."""
        self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        log.info("worker metrics on http://%s:%d/metrics", host, self._server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Held:
    """Gauges read at scrape time: tasks this worker runs or holds (claimed, waiting for a slot), by queue."""

    def __init__(self, running: Callable[[], list[Attempt]]):
        self.running = running

    def collect(self) -> Iterator[Metric]:
        active = GaugeMetricFamily("tasker_worker_active_tasks", "Tasks this worker is running", labels=["queue"])
        held = GaugeMetricFamily("tasker_worker_held_tasks", "Tasks this worker claimed and has not started yet", labels=["queue"])
        counts: dict[tuple[str, bool], int] = {}
        for attempt in self.running():
            key = (attempt.task.queue, attempt.admitted)
            counts[key] = counts.get(key, 0) + 1
        for (queue, admitted), n in sorted(counts.items()):
            (active if admitted else held).add_metric([queue], n)
        yield from (active, held)
