"""A fleet of worker hosts on one PostgreSQL: each host a Linux network namespace
(tests/netns.py) running two ``tasker worker`` processes. One host is cut off (its
link down: a partition, no connection reset) while its tasks run: they are rescued
after the lease and finished by the other host; when the link comes back, the
cut-off workers' late outcomes are refused (fenced by the claim token) and they
carry on. Every task runs exactly once outside those rescues."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import netns
from polling import wait_until
from stores import drop_schema, with_schema
from tasker import Tasker

APP = '''
import os
import time
from pathlib import Path
from tasker import Tasker

app = Tasker()
HOST, RUNS = os.environ["FLEET_HOST"], Path(os.environ["FLEET_RUNS"])

@app.handler("work")
def work(payload, ctx):
    mark = RUNS / f"{ctx.task_id}.{ctx.attempt}.{HOST}.{os.getpid()}"
    mark.write_text("started")
    time.sleep(payload["seconds"])
    mark.write_text("done")
    return {"host": HOST, "attempt": ctx.attempt}
'''
LEASE = 3
TASKS = 8


@pytest.fixture
def hosts(pg_url: str):
    why = netns.unsupported()
    if why:
        pytest.skip(why)
    server = urlsplit(pg_url)
    made: list[netns.Host] = []
    try:
        for index in range(2):
            made.append(netns.Host(index, server.hostname or "127.0.0.1", server.port or 5432))
        yield made
    finally:
        for host in made:
            host.remove()


@pytest.fixture
def schema(pg_url: str):
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield name
    drop_schema(pg_url, name)


class Fleet:
    """Worker processes on hosts; their logs under ``directory``."""

    def __init__(self, directory: Path, url: str):
        self.directory = directory
        self.url = url
        self.runs = directory / "runs"
        self.runs.mkdir()
        (directory / "fleetapp.py").write_text(APP)
        self.procs: list[tuple[netns.Host, subprocess.Popen, Path]] = []

    def start(self, host: netns.Host, count: int) -> None:
        env = dict(os.environ, PYTHONPATH=str(self.directory), FLEET_HOST=host.name, FLEET_RUNS=str(self.runs))
        for _ in range(count):
            log = self.directory / f"{host.name}-{len(self.procs)}.log"
            args = [sys.executable, "-m", "tasker", "worker", "fleetapp:app", "--url", host.url(self.url), "-c", "2",
                    "--lease", str(LEASE), "--grace-period", "5"]
            with open(log, "wb") as out:
                proc = subprocess.Popen(host.command(args), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=self.directory)
            self.procs.append((host, proc, log))

    def on(self, host: netns.Host) -> list[subprocess.Popen]:
        return [proc for h, proc, _ in self.procs if h is host]

    def log(self, host: netns.Host) -> str:
        return "".join(log.read_text(errors="replace") for h, _, log in self.procs if h is host)

    def marks(self) -> list[tuple[str, int, str, str]]:
        """(task id, attempt, host, state) of every run so far."""
        found = []
        for path in self.runs.iterdir():
            task_id, attempt, host, _pid = path.name.split(".")
            found.append((task_id, int(attempt), host, path.read_text()))
        return found

    def stop(self, procs: list[subprocess.Popen]) -> None:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def close(self) -> None:
        self.stop([proc for _, proc, _ in self.procs if proc.poll() is None])
        for _, proc, log in self.procs:
            print(f"===== {log.name} (exit {proc.returncode})\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:]))


def test_a_host_cut_off_is_rescued_fenced_and_carries_on(pg_url: str, hosts, schema: str, tmp_path: Path):
    cut_off, other = hosts
    url = with_schema(pg_url, schema)
    app = Tasker(url)
    app.migrate()
    fleet = Fleet(tmp_path, url)
    try:
        fleet.start(cut_off, 2)
        fleet.start(other, 2)
        wait_until(lambda: len(app.workers()) == 4, 30, interval=0.1, message="4 workers registered")
        ids = app.create_many("work", [{"seconds": 2.0}] * TASKS)
        held = wait_until(lambda: {m[0] for m in fleet.marks() if m[2] == cut_off.name}, 20, interval=0.02,
                          message="the host to cut off runs tasks")
        cut_off.cut()
        held = {m[0] for m in fleet.marks() if m[2] == cut_off.name}   # all it had started when cut

        wait_until(lambda: app.count(status="succeeded") == TASKS, 40, interval=0.1,
                   message="every task finished, the cut-off host's on the other")
        cut_off.restore()
        # Its late outcomes reach the server now, and are refused: the rescued claims are gone.
        wait_until(lambda: "not applied" in fleet.log(cut_off) or "dropped the outcome" in fleet.log(cut_off), 40,
                   interval=0.2, message="the cut-off workers' late outcomes refused")

        # A start made just before the cut may reach the marks only once the link is back.
        held |= {m[0] for m in fleet.marks() if m[2] == cut_off.name and m[1] == 1 and m[0] in set(ids)}
        for task_id in ids:
            task = app.get(task_id)
            runs = sorted((attempt, host) for t, attempt, host, _ in fleet.marks() if t == task_id)
            if task_id in held:
                assert task.attempts == 2 and task.result == {"host": other.name, "attempt": 2}, (task, runs)
                assert runs == [(1, cut_off.name), (2, other.name)], runs
            else:
                assert task.attempts == 1 and runs == [(1, task.result["host"])], (task, runs)   # exactly once
        assert held, "the cut-off host held no task"

        # The cut-off host carries on: with the other host gone, it runs new work alone.
        fleet.stop(fleet.on(other))
        more = app.create_many("work", [{"seconds": 0.1}] * 4)
        wait_until(lambda: app.count(status="succeeded") == TASKS + 4, 30, interval=0.1, message="the cut-off host works again")
        assert {app.get(task_id).result["host"] for task_id in more} == {cut_off.name}
        assert all(proc.poll() is None for proc in fleet.on(cut_off))
    finally:
        fleet.close()
        app.close()
