"""A worker process keeps its startup heap out of the garbage collector's full passes
(worker.freeze_startup_heap): a handler run by it sees a frozen heap, in a fresh process."""
from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import gc, sys, threading, time
    from tasker import Tasker, TaskStatus

    app = Tasker(sys.argv[1])
    app.migrate()
    print("before", gc.get_freeze_count(), flush=True)

    @app.handler("frozen")
    def frozen(payload):
        return gc.get_freeze_count()

    threading.Thread(target=app.run_worker, kwargs={"poll_interval": 0.05}, daemon=True).start()
    task_id = app.create("frozen")
    deadline = time.monotonic() + 30
    while app.get(task_id).status is not TaskStatus.SUCCEEDED and time.monotonic() < deadline:
        time.sleep(0.02)   # a separate process: polling its store is how this script sees the end
    print("inside", app.get(task_id).result, flush=True)
    app.stop_workers()
""")


def test_a_worker_freezes_the_heap_it_started_with(store_url):
    done = subprocess.run([sys.executable, "-c", SCRIPT, store_url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = dict(line.split() for line in done.stdout.splitlines())
    assert int(seen["before"]) == 0
    assert int(seen["inside"]) > 1000   # modules, the app, its pools: thousands of objects
