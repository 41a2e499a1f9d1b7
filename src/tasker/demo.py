"""``tasker demo``: a realistic mix of tasks run by an in-process worker, with live progress.

Demo types are prefixed ``demo.`` and use their own queue, so the demo's
worker never runs the user's tasks and the report covers only this run's ids.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import shlex
import shutil
import sys
import time
import uuid
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .app import Tasker
from .store.url import DEFAULT_SCHEMA, StoreConfig
from .task import Task, TaskStatus

PREFIX = "demo."
QUEUE = "tasker-demo"
DEADLINE = 60.0
STATUS_STYLES = {"queued": "cyan", "running": "yellow", "succeeded": "green", "failed": "red", "cancelled": "magenta"}


def register_handlers(app: Tasker) -> None:
    """Quick sync and async handlers, one flaky, one broken."""

    @app.handler(PREFIX + "send_email", queue=QUEUE)
    async def send_email(payload: dict) -> dict:
        await asyncio.sleep(random.uniform(0.02, 0.2))
        return {"delivered_to": payload["to"]}

    @app.handler(PREFIX + "resize_image", queue=QUEUE)
    def resize_image(payload: dict) -> dict:
        time.sleep(random.uniform(0.02, 0.2))  # a sync handler runs in a thread
        return {"image": payload["image"], "size": [payload["width"], payload["width"] * 3 // 4]}

    @app.handler(PREFIX + "sync_webhook", queue=QUEUE, max_attempts=3, retry_delay=0.3)
    def sync_webhook(payload: dict, ctx: Any) -> str:
        if ctx.attempt == 1:
            raise ConnectionError(f"POST {payload['url']} timed out")
        return "200 OK"

    @app.handler(PREFIX + "build_report", queue=QUEUE, max_attempts=3, retry_delay=0.3)
    async def build_report(payload: dict) -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError(f"report template {payload['template']!r} not found")

    @app.handler(PREFIX + "send_reminder", queue=QUEUE)
    async def send_reminder(payload: dict) -> str:
        return f"reminded {payload['user']}"


async def enqueue_mix(app: Tasker, run: str) -> list[str]:
    """~20 quick tasks, a flaky webhook, a broken report and a delayed reminder."""
    meta = {"demo_run": run}
    emails = [{"to": f"user{n}@example.com", "template": "welcome"} for n in range(12)]
    images = [{"image": f"photos/{n:03}.jpg", "width": random.choice([320, 640, 1280])} for n in range(8)]
    ids = await app.acreate_many(PREFIX + "send_email", emails, meta=meta)
    ids += await app.acreate_many(PREFIX + "resize_image", images, meta=meta)
    ids.append(await app.acreate(PREFIX + "sync_webhook", {"url": "https://hooks.example.com/orders"}, meta=meta))
    ids.append(await app.acreate(PREFIX + "build_report", {"template": "q3-revenue"}, meta=meta))
    ids.append(await app.acreate(PREFIX + "send_reminder", {"user": "ada"}, delay=2.0, meta=meta))
    return ids


def progress(tasks: list[Task], total: int, elapsed: float) -> Group:
    counts = Counter(t.status.value for t in tasks)
    line = Text(f"demo: {sum(t.status.finished for t in tasks)}/{total} finished  ")
    for status, style in STATUS_STYLES.items():
        line.append(f"{status} {counts.get(status, 0)}  ", style=style)
    line.append(f"({elapsed:.1f}s)", style="dim")
    return Group(line)


def outcome_table(tasks: list[Task]) -> Table:
    """One row per (type, status, attempts, last error), with a count; the error only for tasks
    that did not succeed (one that succeeded on a retry keeps the error of its failed attempt)."""
    rows = Counter((t.type, t.status.value, t.attempts, "" if t.status is TaskStatus.SUCCEEDED else first_line(t.last_error))
                   for t in tasks)
    table = Table(title="demo outcomes", header_style="bold", show_edge=False)
    for name in ("TYPE", "TASKS", "STATUS", "ATTEMPTS", "LAST ERROR"):
        table.add_column(name, justify="right" if name in ("TASKS", "ATTEMPTS") else "left", overflow="fold")
    for (type_, status, attempts, error), n in sorted(rows.items()):
        table.add_row(Text(type_), Text(str(n)), Text(status, style=STATUS_STYLES[status]), Text(str(attempts)), Text(error, style="red"))
    return table


def first_line(error: str | None) -> str:
    return error.splitlines()[0] if error else ""


async def fetch(app: Tasker, ids: list[str]) -> list[Task]:
    tasks = [await app.aget(task_id) for task_id in ids]
    return [t for t in tasks if t is not None]


async def watch(app: Tasker, ids: list[str], console: Console, live: bool) -> list[Task]:
    """Poll until every demo task is terminal or the deadline passes; live counts in a terminal."""
    start = time.monotonic()
    tasks = await fetch(app, ids)
    # Live redraws only make sense on a terminal; elsewhere print the final counts once.
    with Live(console=console, refresh_per_second=10) if live and console.is_terminal else nullcontext() as view:
        while not all(t.status.finished for t in tasks) and time.monotonic() - start < DEADLINE:
            if view is not None:
                view.update(progress(tasks, len(ids), time.monotonic() - start))
            await asyncio.sleep(0.1)
            tasks = await fetch(app, ids)
        counts = progress(tasks, len(ids), time.monotonic() - start)
        if view is not None:
            view.update(counts)
        elif live:
            console.print(counts)
    return tasks


async def demo_main(app: Tasker, console: Console, live: bool) -> list[Task]:
    await app.amigrate()
    ids = await enqueue_mix(app, uuid.uuid4().hex[:12])
    worker = asyncio.create_task(app.arun_worker(concurrency=4, queues=[QUEUE], poll_interval=0.1, grace_period=2.0))
    try:
        return await watch(app, ids, console, live)
    finally:
        app.stop_workers()
        await asyncio.gather(worker, return_exceptions=True)
        await app.aclose()


def run_demo(app: Tasker, console: Console, live: bool = True) -> list[Task]:
    """Run the demo on ``app``'s store: its tasks as they ended (or stood at the deadline).
    ``live``: say where, and show the counts as they change."""
    register_handlers(app)
    if live:
        console.print(Text(f"Running the Tasker demo in {app.config.display}", style="bold"))
    quiet = logging.getLogger("tasker")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # the expected failures (ERROR, with tracebacks) would log over the live view
    try:
        return asyncio.run(demo_main(app, console, live))
    finally:
        quiet.setLevel(level)


def next_steps(config: StoreConfig) -> list[tuple[str, str, str]]:
    """What to run next to look at the demo's data, as (what, command, note), with this
    installation's ``tasker`` spelled so the user's shell finds it (``.venv/bin/tasker`` when
    it is not on PATH, and then how to put it there)."""
    tasker, url = tasker_command(), shell_url(config)
    steps = [
        ("dashboard", f"{tasker} dashboard --url {url}", "then open http://127.0.0.1:8080/"),
        ("demo tasks", f"{tasker} list --queue {QUEUE} --url {url}", ""),
        ("one task", f"{tasker} show ID --url {url}", "with an ID from the list"),
    ]
    activate = Path(tasker).with_name("activate")
    if tasker != "tasker" and activate.exists():
        steps.append(("plain `tasker`", f"source {activate}", f"puts {activate.parent} on PATH in this shell"))
    return steps


def steps_table(steps: list[tuple[str, str, str]]) -> Table:
    table = Table.grid(padding=(0, 3, 0, 0), pad_edge=True)
    for style in ("dim", "bold", "dim"):
        table.add_column(style=style, no_wrap=True)
    for what, command, note in steps:
        table.add_row(f"  {what}", command, note)
    return table


def tasker_command() -> str:
    """This installation's ``tasker`` as the user's shell can run it: ``tasker`` when PATH finds
    it, else its path (relative to here when below it), else ``python -m tasker``."""
    script = Path(sys.executable).with_name("tasker")
    found = shutil.which("tasker")
    if not script.exists():
        return "tasker" if found else f"{sys.executable} -m tasker"
    if found and Path(found).resolve() == script.resolve():
        return "tasker"
    relative = os.path.relpath(script)
    return relative if not relative.startswith("..") else str(script)


def shell_url(config: StoreConfig) -> str:
    """The store's URL for a command line: a SQLite file below here relative to it, PostgreSQL
    with its schema (and the password masked, for the user to fill in)."""
    url = config.display
    if config.kind == "sqlite" and not config.in_memory:
        relative = os.path.relpath(config.target)
        url = url if relative.startswith("..") else f"sqlite:///{relative}"
    elif config.kind == "postgresql" and config.schema != DEFAULT_SCHEMA:
        url = f"{url}{'&' if '?' in url else '?'}schema={config.schema}"
    return shlex.quote(url)
