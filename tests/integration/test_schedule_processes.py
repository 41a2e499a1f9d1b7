"""Exactly one task per tick with three worker processes racing over the same series."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from tasker import TaskStatus
from polling import wait_until

WORKER = textwrap.dedent(
    """
    import sys
    from tasker import Tasker

    app = Tasker(sys.argv[1])

    @app.periodic(0.25, name="every_quarter_second")
    def every_quarter_second(payload, ctx):
        return ctx.task_id

    app.run_worker(concurrency=4, poll_interval=0.05, grace_period=5)
    """
)
TICKS = 32


def test_three_workers_make_exactly_one_task_per_tick(app, store_url, tmp_path: Path):
    script = tmp_path / "periodic_worker.py"
    script.write_text(WORKER)
    logs = [open(tmp_path / f"worker{i}.log", "w") for i in range(3)]
    workers = [subprocess.Popen([sys.executable, str(script), store_url], stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        wait_until(lambda: app.stats()["succeeded"] >= TICKS, timeout=60, interval=0.2, message=f"{TICKS} ticks")
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(30)
    output = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(3))
    assert all(proc.returncode == 0 for proc in workers), output
    assert len(app.schedules()) == 1, "three workers declared one series"
    tasks = app.list(type="every_quarter_second", limit=10_000)
    done = sorted((t for t in tasks if t.status is TaskStatus.SUCCEEDED), key=lambda t: t.fire_time)
    ticks = [t.fire_time for t in done]
    assert len(ticks) == len(set(ticks)) >= TICKS, "exactly one task per tick"
    gaps = {b - a for a, b in zip(ticks, ticks[1:])}
    assert gaps == {timedelta(seconds=0.25)}, f"no tick lost: {sorted(gaps)[:5]}"
    assert all(t.attempts == 1 for t in done)
    assert all(t.started_at >= t.run_at for t in done), "never before its tick"
