"""Celery, with a Redis broker (``--ns cer_*``) or a RabbitMQ one (``--ns cmq_*``).

Configured for throughput as Celery's "Optimizing" guide suggests for many short tasks: no
result backend (``task_ignore_result``), early acknowledgement (the default), a high
``worker_prefetch_multiplier`` (64), and the worker started ``--without-gossip
--without-mingle --without-heartbeat``; the ``threads`` pool with concurrency 10 (one worker
process, like every other system here; a prefork pool of 10 processes would not fit 2 cores).
Completion is counted by an ``INCR`` on Redis in the task (no result backend to ask), so
``remaining`` is the enqueued count minus that counter, for both brokers.
Celery has no bulk enqueue: a "batch" is 1,000 ``apply_async`` calls on one producer.
Each run uses a fresh queue name; its Redis keys / RabbitMQ queue are deleted afterwards.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
from harness import REDIS_URL, Driver, record  # noqa: E402

import redis  # noqa: E402
from celery import Celery  # noqa: E402

AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
PREFETCH_MULTIPLIER = 64


def broker_for(ns: str) -> str:
    return AMQP_URL if ns.startswith("cmq") else REDIS_URL


def make_app(ns: str) -> tuple[Celery, object]:
    app = Celery("bench", broker=broker_for(ns))
    app.conf.update(task_ignore_result=True, task_acks_late=False, worker_prefetch_multiplier=PREFETCH_MULTIPLIER,
                    task_default_queue=ns, worker_hijack_root_logger=False, broker_connection_retry_on_startup=True)
    counter = redis.Redis.from_url(REDIS_URL)

    @app.task(name="noop")
    def noop(i: int) -> None:
        record(i)
        counter.incr(f"celery-done:{ns}")

    return app, noop


class CeleryDriver(Driver):
    name = "celery"
    bulk_note = "no bulk API: 1,000 apply_async calls on one producer"

    def setup(self, ns: str) -> None:
        self.ns = ns
        self.app, self.noop = make_app(ns)
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.sent = 0

    def enqueue_one(self, i: int) -> None:
        self.noop.apply_async((i,))
        self.sent += 1

    def enqueue_batch(self, items: list[int]) -> None:
        with self.app.producer_or_acquire() as producer:
            for i in items:
                self.noop.apply_async((i,), producer=producer)
        self.sent += len(items)

    def _done(self) -> int:
        return int(self.redis.get(f"celery-done:{self.ns}") or 0)

    def _queued(self) -> int:
        if broker_for(self.ns) == REDIS_URL:
            return int(self.redis.llen(self.ns))
        with self.app.connection_for_write() as conn:
            return conn.default_channel.queue_declare(queue=self.ns, passive=True).message_count

    def remaining(self) -> int:
        # While the broker holds every task sent, that is the count stored (the enqueue checks);
        # once the worker takes them, its prefetched tasks are out of the queue but not done.
        done = self._done()
        queued = self._queued() if done == 0 else None
        return queued if queued == self.sent else self.sent - done

    def succeeded(self) -> int:
        return self._done()

    def teardown(self) -> None:
        self.redis.delete(f"celery-done:{self.ns}", self.ns)
        if broker_for(self.ns) != REDIS_URL:
            with self.app.connection_for_write() as conn:
                conn.default_channel.queue_delete(self.ns)

    def close(self) -> None:
        self.redis.close()

    def worker_main(self, ns: str, concurrency: int) -> None:
        app, _noop = make_app(ns)
        app.worker_main(["worker", "--pool=threads", f"--concurrency={concurrency}", "-Q", ns, "--loglevel=WARNING",
                         "--without-gossip", "--without-mingle", "--without-heartbeat"])


if __name__ == "__main__":
    harness.main(CeleryDriver, os.path.abspath(__file__))
