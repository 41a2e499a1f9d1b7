"""``/metrics``: Prometheus text exposition, read from the store at each scrape.

Nothing is counted in this process: every number comes from the database, so
any number of dashboard replicas report the same values. The "totals" are the
succeeded and failed tasks still stored, so they drop after ``cleanup``;
Prometheus treats a drop as a counter reset and ``rate()`` stays correct.
The duration histograms cover the attempts finished in the last hour.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..task import TaskStatus, WorkerState
from . import guard

WINDOW = 3600.0
RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600)


class Snapshot:
    """A collector over data already read from the store (collectors are sync; reads are async)."""

    def __init__(self, stats: dict[str, Any], activity: dict[str, Any], workers: list[WorkerState], now: datetime):
        self.stats, self.activity, self.workers, self.now = stats, activity, workers, now

    def collect(self) -> Iterator[Metric]:
        by_queue: dict[str, dict[str, int]] = self.stats.get("by_queue", {})
        tasks = GaugeMetricFamily("tasker_tasks", "Tasks stored, by status and queue", labels=["queue", "status"])
        processed = CounterMetricFamily("tasker_tasks_processed", "Tasks that finished succeeded or failed (still stored)", labels=["queue"])
        failed = CounterMetricFamily("tasker_tasks_failed", "Tasks that finished failed (still stored)", labels=["queue"])
        for queue, counts in sorted(by_queue.items()):
            for status in TaskStatus:
                tasks.add_metric([queue, status.value], counts.get(status.value, 0))
            processed.add_metric([queue], counts.get("succeeded", 0) + counts.get("failed", 0))
            failed.add_metric([queue], counts.get("failed", 0))
        yield from (tasks, processed, failed)

        oldest = GaugeMetricFamily("tasker_queue_oldest_due_age_seconds", "Age of the oldest due, queued task", labels=["queue"])
        for queue, age in sorted(self.activity.get("oldest_queued_age", {}).items()):
            oldest.add_metric([queue], float(age))
        yield oldest

        paused = GaugeMetricFamily("tasker_queue_paused", "1 while the queue is paused", labels=["queue"])
        for queue in sorted(set(by_queue) | set(self.stats.get("paused_queues", []))):
            paused.add_metric([queue], 1.0 if queue in self.stats.get("paused_queues", []) else 0.0)
        yield paused

        recent = self.activity.get("recent", [])
        yield _histogram("tasker_task_run_seconds", "Run time of attempts finished in the last hour",
                         [((q, s), run) for q, s, run, _ in recent], ["queue", "status"], RUN_BUCKETS)
        yield _histogram("tasker_task_queue_wait_seconds", "Time from due to started, of attempts finished in the last hour",
                         [((q,), wait) for q, _, _, wait in recent], ["queue"], WAIT_BUCKETS)

        yield GaugeMetricFamily("tasker_workers", "Worker processes with a recent heartbeat row", value=len(self.workers))
        age = GaugeMetricFamily("tasker_worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat", labels=["worker", "hostname"])
        running = GaugeMetricFamily("tasker_worker_running_tasks", "Tasks the worker is running", labels=["worker", "hostname"])
        for w in self.workers:
            age.add_metric([w.id, w.hostname], max(0.0, (self.now - w.last_seen).total_seconds()))
            running.add_metric([w.id, w.hostname], w.running)
        yield from (age, running)


def _histogram(name: str, doc: str, samples: Any, labels: list[str], bounds: tuple[float, ...]) -> HistogramMetricFamily:
    values: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for key, seconds in samples:
        values[key].append(max(0.0, float(seconds or 0.0)))
    family = HistogramMetricFamily(name, doc, labels=labels)
    for key, observed in sorted(values.items()):
        buckets = [(_le(bound), sum(1 for v in observed if v <= bound)) for bound in bounds]
        buckets.append(("+Inf", len(observed)))
        family.add_metric(list(key), buckets, sum(observed))
    return family


def _le(bound: float) -> str:
    return repr(float(bound))


async def metrics(request: Request) -> Response:
    tasker = request.app.state.web.tasker
    snapshot = Snapshot(await tasker.astats(), await tasker.aactivity(WINDOW), await tasker.aworkers(), datetime.now(timezone.utc))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(snapshot)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def routes() -> list[Route]:
    return [Route("/metrics", guard.api(metrics), methods=["GET"])]
