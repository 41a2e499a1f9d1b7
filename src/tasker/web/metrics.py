"""``/metrics``: Prometheus text exposition, read from the store at each scrape.

Nothing is counted in this process: every number comes from the database, so any number
of dashboard replicas report the same values. Counters and histograms are built from the
store's tallies (tasker/tallies.py), which workers add to as they record attempts and which
cleanup never touches: they only rise, so ``rate()`` and ``histogram_quantile()`` hold.
Gauges (tasks stored by status, the oldest due task, workers) are read as they are now.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Iterable, Iterator, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..tallies import RETRIED, RUN_BUCKETS, WAIT_BUCKETS, Tally
from ..task import TaskStatus, WorkerState
from . import guard

FINISHED = (TaskStatus.SUCCEEDED.value, TaskStatus.FAILED.value, TaskStatus.CANCELLED.value)


class Snapshot:
    """A collector over data already read from the store (collectors are sync; reads are async)."""

    def __init__(self, stats: dict, oldest_due: dict[str, float], tallies: Sequence[Tally], workers: list[WorkerState],
                 now: datetime):
        self.stats, self.oldest_due, self.tallies, self.workers, self.now = stats, oldest_due, tallies, workers, now

    def collect(self) -> Iterator[Metric]:
        yield from self._counters()
        yield from self._histograms()
        yield from self._gauges()

    def _counters(self) -> Iterator[Metric]:
        processed = CounterMetricFamily("tasker_tasks_processed", "Tasks that ran and finished succeeded or failed",
                                        labels=["queue", "type"])
        failed = CounterMetricFamily("tasker_tasks_failed", "Tasks that finished failed", labels=["queue", "type"])
        finished = CounterMetricFamily("tasker_tasks_finished", "Tasks that finished, by final status",
                                       labels=["queue", "type", "status"])
        retried = CounterMetricFamily("tasker_task_retries", "Failed attempts that run again", labels=["queue", "type"])
        by_key: dict[tuple[str, str, str], int] = defaultdict(int)
        for t in self.tallies:
            by_key[t.queue, t.type, t.status] += t.count
        for queue, type, status in sorted({(q, ty, s) for q, ty, s in by_key if s in FINISHED}):
            finished.add_metric([queue, type, status], by_key[queue, type, status])
        for queue, type in sorted({(q, ty) for q, ty, _ in by_key}):
            succeeded, failures = by_key.get((queue, type, "succeeded"), 0), by_key.get((queue, type, "failed"), 0)
            processed.add_metric([queue, type], succeeded + failures)
            failed.add_metric([queue, type], failures)
            retried.add_metric([queue, type], by_key.get((queue, type, RETRIED), 0))
        yield from (processed, failed, finished, retried)

    def _histograms(self) -> Iterator[Metric]:
        run = HistogramMetricFamily("tasker_task_run_seconds", "Run time of recorded attempts, by the status they led to",
                                    labels=["queue", "type", "status"])
        for key, buckets, total in _histogram(((t.queue, t.type, t.status), t.run_bucket, t.count, t.run_seconds)
                                              for t in self.tallies):
            run.add_metric(list(key), _cumulative(buckets, RUN_BUCKETS), total)
        wait = HistogramMetricFamily("tasker_task_queue_wait_seconds", "Time from due to the handler's start",
                                     labels=["queue", "type"])
        for key, buckets, total in _histogram(((t.queue, t.type), t.wait_bucket, t.count, t.wait_seconds)
                                              for t in self.tallies):
            wait.add_metric(list(key), _cumulative(buckets, WAIT_BUCKETS), total)
        yield from (run, wait)

    def _gauges(self) -> Iterator[Metric]:
        by_queue: dict[str, dict[str, int]] = self.stats.get("by_queue", {})
        tasks = GaugeMetricFamily("tasker_tasks", "Tasks stored, by status and queue", labels=["queue", "status"])
        for queue, counts in sorted(by_queue.items()):
            for status in TaskStatus:
                tasks.add_metric([queue, status.value], counts.get(status.value, 0))
        yield tasks

        oldest = GaugeMetricFamily("tasker_queue_oldest_due_age_seconds", "Age of the oldest due, queued task", labels=["queue"])
        for queue, seconds in sorted(self.oldest_due.items()):
            oldest.add_metric([queue], float(seconds))
        yield oldest

        paused_queues = self.stats.get("paused_queues", [])
        paused = GaugeMetricFamily("tasker_queue_paused", "1 while the queue is paused", labels=["queue"])
        for queue in sorted(set(by_queue) | set(paused_queues)):
            paused.add_metric([queue], 1.0 if queue in paused_queues else 0.0)
        yield paused

        yield GaugeMetricFamily("tasker_workers", "Worker processes with a recent heartbeat row", value=len(self.workers))
        age = GaugeMetricFamily("tasker_worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat", labels=["worker", "hostname"])
        running = GaugeMetricFamily("tasker_worker_running_tasks", "Tasks the worker is running", labels=["worker", "hostname"])
        for w in self.workers:
            age.add_metric([w.id, w.hostname], max(0.0, (self.now - w.last_seen).total_seconds()))
            running.add_metric([w.id, w.hostname], w.running)
        yield from (age, running)
        yield from self._flow_gauges()

    def _flow_gauges(self) -> Iterator[Metric]:
        """Flow limits per queue and type (stats()["flow_limits"]): the limits, what waits on them, the rate."""
        labels = ["scope", "name"]
        limit = GaugeMetricFamily("tasker_flow_concurrency_limit", "Most tasks running at once, across every worker", labels=labels)
        rate = GaugeMetricFamily("tasker_flow_rate_limit_per_second", "Most starts a second, across every worker", labels=labels)
        waiting = GaugeMetricFamily("tasker_flow_waiting_tasks", "Due tasks held back by the limits", labels=labels)
        running = GaugeMetricFamily("tasker_flow_running_tasks", "Tasks running (or claimed) under the limits", labels=labels)
        starts = GaugeMetricFamily("tasker_flow_recent_starts", "Starts within the rate's period (else the last minute)", labels=labels)
        for entry in self.stats.get("flow_limits", []):
            key = [entry["scope"], entry["name"]]
            if entry["concurrency_limit"] is not None:
                limit.add_metric(key, entry["concurrency_limit"])
            if entry.get("rate_per_second") is not None:
                rate.add_metric(key, entry["rate_per_second"])
            waiting.add_metric(key, entry["waiting"])
            running.add_metric(key, entry["running"])
            starts.add_metric(key, entry["recent_starts"])
        yield from (limit, rate, waiting, running, starts)


def _histogram(rows: Iterable[tuple[tuple[str, ...], int, int, float]]) -> list[tuple[tuple[str, ...], dict[int, int], float]]:
    """Per label key: observations per bucket index, and their sum (unmeasured rows left out)."""
    buckets: dict[tuple[str, ...], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    sums: dict[tuple[str, ...], float] = defaultdict(float)
    for key, index, count, seconds in rows:
        if index >= 0:
            buckets[key][index] += count
            sums[key] += seconds
    return [(key, buckets[key], sums[key]) for key in sorted(buckets)]


def _cumulative(per_bucket: dict[int, int], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    """Prometheus buckets: the count at or under each bound, then +Inf (all of them)."""
    out, running = [], 0
    for index, bound in enumerate(bounds):
        running += per_bucket.get(index, 0)
        out.append((repr(float(bound)), float(running)))
    out.append(("+Inf", float(sum(per_bucket.values()))))
    return out


async def metrics(request: Request) -> Response:
    tasker = request.app.state.web.tasker
    stats = await tasker.astats()
    snapshot = Snapshot(stats, stats["oldest_due_age"], await tasker.atallies(), await tasker.aworkers(),
                        datetime.now(timezone.utc))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(snapshot)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def routes() -> list[Route]:
    return [Route("/metrics", guard.api(metrics), methods=["GET"])]
