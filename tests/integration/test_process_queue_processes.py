"""Claims are atomic across processes: concurrent process_queue passes never run a task twice."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

PASS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from tasker import Tasker

    app = Tasker(sys.argv[1])
    runs = []

    @app.handler()
    def job(payload, ctx):
        runs.append(ctx.task_id)
        time.sleep(0.001)

    go = float(sys.argv[2])
    while time.time() < go:      # start every process's first pass at the same instant
        time.sleep(0.001)
    while app.process_queue(batch_size=25).claimed:
        pass
    print(json.dumps(runs))
    """
)


def test_concurrent_passes_in_several_processes_run_each_task_once(app, store_url, tmp_path: Path):
    import time

    ids = app.create_many("job", list(range(600)))
    script = tmp_path / "pass.py"
    script.write_text(PASS_SCRIPT)
    start_at = str(time.time() + 2.0)
    procs = [
        subprocess.Popen([sys.executable, str(script), store_url, start_at], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        runs.extend(json.loads(out.strip().splitlines()[-1]))
    assert sorted(runs) == sorted(ids), "every task ran exactly once"
    assert app.stats()["succeeded"] == 600
    assert {t.attempts for t in app.list(limit=1000)} == {1}
