"""Hostile handlers, for the tests of tests/hostile/: ``python tests/apps/hostile_app.py`` runs a worker.

Every way a review found for a handler to wedge, kill or stall a worker. Configured by the
environment like worker_app.py (``TASKER_URL``, ``C``, ``LEASE``, ``GRACE``, ``POLL``) and
``INTERRUPT_GRACE`` (seconds an interrupted handler may ignore its interruption).

Handlers (the payload picks the variant; each ``*_sync`` twin is a plain ``def``):

- ``ok``: returns "ok".
- ``raise_text``: ``{"text": "surrogate" | "nul"}`` raises ValueError with a lone surrogate / a NUL.
- ``snooze``: ``{"seconds": "nan" | "inf" | 1e300}`` raises ``Snooze(float(seconds))``.
- ``retry_inf``: raises ``Retry(inf)``.
- ``base``: ``{"kind": "exit" | "keyboard" | "generator" | "custom"}`` raises that BaseException (``base_sync`` too).
- ``deep_result``: returns a list nested 100,000 deep.
- ``bad_str``: raises an exception whose ``__str__`` raises.
- ``huge_result``: returns a string one byte over ``max_result_bytes`` (``MAX_RESULT``).
- ``huge_progress``: reports progress over the limit, then returns.
- ``swallow``: an async handler that swallows every CancelledError (timeout 1 s; ``swallow_long``: 60 s).
- ``block_loop``: an async handler that blocks the event loop with time.sleep past its timeout.
- ``long_backoff``: fails, with a retry_delay callable answering 1e300.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
import time

from tasker import Retry, Snooze, Tasker

MAX_RESULT = 10_000


class Boom(BaseException):
    """A BaseException that is none of the standard ones."""


class BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no string for you")


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


BASES = {"exit": lambda: SystemExit(4), "keyboard": KeyboardInterrupt, "generator": GeneratorExit, "custom": lambda: Boom("boom")}
TEXTS = {"surrogate": "bad \ud800", "nul": "junk \x00"}


def build(url: str) -> Tasker:
    app = Tasker(url, max_result_bytes=MAX_RESULT)

    @app.handler()
    async def ok(payload):
        return "ok"

    @app.handler(max_attempts=2, retry_delay=0.1)
    async def raise_text(payload):
        raise ValueError(TEXTS[payload["text"]])

    @app.handler(max_attempts=1)
    async def snooze(payload):
        raise Snooze(float(payload["seconds"]))

    @app.handler(max_attempts=2)
    async def retry_inf(payload):
        raise Retry(float("inf"))

    @app.handler(max_attempts=1)
    async def base(payload):
        raise BASES[payload["kind"]]()

    @app.handler(max_attempts=1)
    def base_sync(payload):
        raise BASES[payload["kind"]]()

    @app.handler(max_attempts=1)
    async def deep_result(payload):
        return nested(100_000)

    @app.handler(max_attempts=1)
    async def bad_str(payload):
        raise BadStr()

    @app.handler(max_attempts=1)
    async def huge_result(payload):
        return "x" * MAX_RESULT

    @app.handler(max_attempts=1)
    def huge_progress(payload, ctx):
        ctx.progress("x" * MAX_RESULT)
        return "unreachable"

    @app.handler(max_attempts=1, timeout=1)
    async def swallow(payload):
        while True:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                pass

    @app.handler(max_attempts=1, timeout=60)
    async def swallow_long(payload):
        await swallow(payload)

    @app.handler(max_attempts=1, timeout=0.5)
    async def block_loop(payload):
        time.sleep(1.5)
        return "finished late"

    @app.handler(max_attempts=2, retry_delay=lambda attempt: 1e300)
    async def long_backoff(payload):
        raise RuntimeError("fails, asks for a very long wait")

    return app


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "INFO"), stream=sys.stderr,
                        format=f"%(asctime)s [{os.getpid()}] %(levelname)s %(name)s: %(message)s")
    app = build(os.environ["TASKER_URL"])
    options = {name: float(os.environ[env]) for env, name in
               (("LEASE", "lease"), ("GRACE", "grace_period"), ("POLL", "poll_interval"), ("INTERRUPT_GRACE", "interrupt_grace"))
               if os.environ.get(env)}
    app.run_worker(concurrency=int(os.environ.get("C", "4")), **options)
    logging.getLogger("hostile_app").info("run_worker returned; exiting")


if __name__ == "__main__":
    main()
