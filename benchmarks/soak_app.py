"""The worker of the fault soak (benchmarks/soak.py): ``python benchmarks/soak_app.py``.

Configured by the environment like tests/apps/worker_app.py: ``TASKER_URL`` (required),
``C`` (concurrency), ``LEASE``, ``HEARTBEAT``, ``GRACE``, ``POLL``, ``INTERRUPT_GRACE``
(seconds), ``LOGLEVEL`` (default WARNING: INFO logs every success).

Each worker tags its PostgreSQL connections with ``application_name=soak-worker-PID``
(``worker_tag``), so that the soak can find them in ``pg_stat_activity`` and cut them.

Handlers:

- ``work`` (async, 25 attempts: a fault never exhausts it): records its run in the table
  ``executions`` of the soak schema with tests/apps/worker_app.py's ``Recorder`` (its own
  psycopg connections, retrying through outages), sleeps 0-10 ms, records the finish
  (outcome ``done``, or ``interrupted`` if the worker cancelled it) and returns
  ``{"attempt", "pid", "exec_id"}``.
- ``poison_*``: the hostile handlers of tests/apps/hostile_app.py, one type per timing
  (1 or 2 attempts); every case is listed in ``POISON_CASES`` as (type, payload).

The soak creates its tasks through ``build()`` too: a type's options (``max_attempts``,
``timeout``) come from the handler registered in the creating process.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from apps.harness import pg_url_with  # noqa: E402
from apps.hostile_app import BASES, TEXTS, BadStr, nested  # noqa: E402
from apps.worker_app import PID, Recorder, options  # noqa: E402

from tasker import Tasker  # noqa: E402

WORK = "work"
WORK_ATTEMPTS = 25
WORK_SLEEP = 0.010        # at most, seconds
SWALLOW_TIMEOUT = 1.0
BLOCK_TIMEOUT = 0.5
BLOCK_FOR = 1.0           # past the timeout, but well under the soak's 2 s lease

POISON_CASES: list[tuple[str, dict]] = (
    [("poison_text", {"text": text}) for text in TEXTS]               # ValueError with a lone surrogate / a NUL
    + [("poison_base", {"kind": kind}) for kind in BASES]             # SystemExit, KeyboardInterrupt, GeneratorExit, custom
    + [("poison_deep", {}), ("poison_bad_str", {}), ("poison_swallow", {}), ("poison_block_loop", {})]
)

log = logging.getLogger("soak_app")


def worker_tag(pid: int) -> str:
    """The ``application_name`` of a worker's connections."""
    return f"soak-worker-{pid}"


def build(url: str) -> Tasker:
    app = Tasker(url)
    register_work(app, Recorder(url))
    register_poison(app)
    return app


def register_work(app: Tasker, recorder: Recorder) -> None:
    @app.handler(WORK, max_attempts=WORK_ATTEMPTS, retry_delay=0.5)
    async def work(payload, ctx):
        exec_id = await asyncio.to_thread(recorder.start, ctx.task_id, ctx.attempt)
        try:
            await asyncio.sleep(random.uniform(0, WORK_SLEEP))
        except asyncio.CancelledError:   # its claim was rescued from this worker, or shutdown
            await asyncio.to_thread(recorder.finish, exec_id, "interrupted")
            raise
        await asyncio.to_thread(recorder.finish, exec_id)
        return {"attempt": ctx.attempt, "pid": PID, "exec_id": exec_id}


def register_poison(app: Tasker) -> None:
    @app.handler(max_attempts=2, retry_delay=0.1)
    async def poison_text(payload):
        raise ValueError(TEXTS[payload["text"]])

    @app.handler(max_attempts=1)
    async def poison_base(payload):
        raise BASES[payload["kind"]]()

    @app.handler(max_attempts=1)
    async def poison_deep(payload):
        return nested(100_000)

    @app.handler(max_attempts=1)
    async def poison_bad_str(payload):
        raise BadStr()

    @app.handler(max_attempts=1, timeout=SWALLOW_TIMEOUT)
    async def poison_swallow(payload):
        while True:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                pass

    @app.handler(max_attempts=1, timeout=BLOCK_TIMEOUT)
    async def poison_block_loop(payload):
        time.sleep(BLOCK_FOR)  # noqa: ASYNC251 - blocking the event loop is the point
        return "finished late"


def worker_options() -> dict[str, float]:
    opts = options()   # LEASE, HEARTBEAT, GRACE, POLL
    if os.environ.get("INTERRUPT_GRACE"):
        opts["interrupt_grace"] = float(os.environ["INTERRUPT_GRACE"])
    return opts


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOGLEVEL", "WARNING"),
        format=f"%(asctime)s.%(msecs)03d [{PID}] %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    app = build(pg_url_with(os.environ["TASKER_URL"], application_name=worker_tag(PID)))
    app.run_worker(concurrency=int(os.environ.get("C", "10")), queues=None, **worker_options())
    log.warning("run_worker returned; exiting")


if __name__ == "__main__":
    main()
