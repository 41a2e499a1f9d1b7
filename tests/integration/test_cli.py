"""The ``tasker`` command line, on both stores.

Most commands run in-process through click's CliRunner (fast, separate
stdout/stderr); ``python -m tasker``, the demo and the worker run as real
subprocesses because they are about process behaviour (signals, exit codes).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from polling import wait_until
from tasker import Tasker, TaskStatus
from tasker.cli import cli, parse_queues

COMMANDS = ["migrate", "enqueue", "list", "show", "cancel", "retry", "cleanup", "stats", "schedules", "worker", "demo", "dashboard"]


def run(*args: str, url: str | None = None) -> Result:
    """Invoke the CLI in-process; an uncaught exception (a traceback) fails the test."""
    argv = [*args, *(["--url", url] if url else [])]
    result = CliRunner().invoke(cli, argv, env={"TASKER_URL": None})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def run_process(*args: str, cwd: Path, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "TASKER_URL"} | (env or {})
    return subprocess.run([sys.executable, "-m", "tasker", *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout)


def table_row(output: str, needle: str) -> list[str]:
    """The cells of the first table line containing ``needle``."""
    line = next(line for line in output.splitlines() if needle in line)
    return [cell.strip() for cell in line.split("│")]


# -- migrate, enqueue, show, list ------------------------------------------------------

def test_migrate_then_already_up_to_date(store_url):
    first = run("migrate", url=store_url)
    assert first.exit_code == 0, first.stderr
    assert "applied migration" in first.stdout
    second = run("migrate", url=store_url)
    assert second.exit_code == 0 and "already up to date" in second.stdout


def test_enqueue_with_options(app, store_url):
    result = run("enqueue", "send_email", '{"to": "ada@example.com"}', "--queue", "emails", "--priority", "5",
                 "--max-attempts", "7", "--unique-key", "welcome:ada", "--meta", '{"tenant": "acme"}', "--delay", "60", url=store_url)
    assert result.exit_code == 0, result.stderr
    task = app.get(result.stdout.strip())
    assert (task.type, task.payload, task.queue, task.priority) == ("send_email", {"to": "ada@example.com"}, "emails", 5)
    assert (task.max_attempts, task.unique_key, task.meta) == (7, "welcome:ada", {"tenant": "acme"})
    assert task.run_at > datetime.now(timezone.utc) + timedelta(seconds=30)


def test_enqueue_run_at_and_no_payload(app, store_url):
    when = datetime(2031, 5, 4, 3, 2, 1, tzinfo=timezone.utc)
    result = run("enqueue", "tick", "--run-at", "2031-05-04T03:02:01Z", url=store_url)
    task = app.get(result.stdout.strip())
    assert task.run_at == when and task.payload is None


def test_show_table_and_json(app, store_url):
    task_id = app.create("resize", {"w": 640}, meta={"req": "r1"})
    table = run("show", task_id, url=store_url)
    assert table.exit_code == 0
    assert task_id in table.stdout and "resize" in table.stdout and '{"w": 640}' in table.stdout
    data = json.loads(run("show", task_id, "--json", url=store_url).stdout)
    assert data["id"] == task_id and data["status"] == "queued" and data["meta"] == {"req": "r1"}
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None
    assert {"run_at", "started_at", "finished_at", "last_error", "result", "attempts", "max_attempts"} <= set(data)


def test_show_prints_last_error_with_traceback(app, store_url):
    def boom(payload):
        raise ValueError("kaboom")

    app.register("boom", boom, max_attempts=1)
    task_id = app.create("boom")
    app.process_queue()
    output = run("show", task_id, url=store_url).stdout
    assert "failed" in output and "ValueError: kaboom" in output and "Traceback" in output
    assert json.loads(run("show", task_id, "--json", url=store_url).stdout)["last_error"].startswith("ValueError: kaboom")


def test_list_table_json_and_filters(app, store_url):
    email = app.create("send_email", {"n": 1}, queue="emails")
    report = app.create("build_report", {"n": 2})
    app.cancel(report)
    table = run("list", url=store_url).stdout
    assert table_row(table, email)[1:5] == ["send_email", "queued", "0/3", "emails"]
    assert table_row(table, report)[1:3] == ["build_report", "cancelled"]
    listed = json.loads(run("list", "--json", url=store_url).stdout)
    assert {t["id"] for t in listed} == {email, report}
    only = json.loads(run("list", "--json", "--status", "cancelled", url=store_url).stdout)
    assert [t["id"] for t in only] == [report]
    assert [t["id"] for t in json.loads(run("list", "--json", "--queue", "emails", "--type", "send_email", url=store_url).stdout)] == [email]
    assert len(json.loads(run("list", "--json", "--limit", "1", url=store_url).stdout)) == 1


def test_group_level_url(app, store_url):
    task_id = app.create("x")
    result = CliRunner().invoke(cli, ["--url", store_url, "list", "--json"], env={"TASKER_URL": None})
    assert [t["id"] for t in json.loads(result.stdout)] == [task_id]


# -- cancel, cleanup, stats ------------------------------------------------------------

def test_cancel_true_then_false(app, store_url):
    task_id = app.create("x")
    first = run("cancel", task_id, url=store_url)
    assert first.exit_code == 0 and "cancelled" in first.stdout
    assert app.get(task_id).status is TaskStatus.CANCELLED
    second = run("cancel", task_id, url=store_url)
    assert second.exit_code == 1
    assert "already cancelled" in second.stderr and second.stdout == ""


def test_cleanup_deletes_only_finished(app, store_url):
    queued = app.create("x")
    done = app.create("x")
    app.cancel(done)
    assert "deleted 0" in run("cleanup", "--older-than", "3600", url=store_url).stdout
    assert "deleted 1" in run("cleanup", url=store_url).stdout
    assert app.get(done) is None and app.get(queued).status is TaskStatus.QUEUED


def test_stats_json_and_table(app, store_url):
    app.create("x", queue="emails")
    app.cancel(app.create("x"))
    stats = json.loads(run("stats", "--json", url=store_url).stdout)
    assert stats["queued"] == 1 and stats["cancelled"] == 1
    assert stats["by_queue"]["emails"]["queued"] == 1
    table = run("stats", url=store_url).stdout
    assert table_row(table, "emails")[1] == "1"


# -- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "args, message",
    [
        (["enqueue", "x", "{not json"], "PAYLOAD_JSON"),
        (["enqueue", "x", "--meta", "[1,"], "--meta"),
        (["enqueue", "x", "--meta", "[1]"], "meta"),
        (["enqueue", "", "{}"], "must not be empty"),
        (["enqueue", "x", "--max-attempts", "0"], "max_attempts"),
        (["enqueue", "x", "--run-at", "next tuesday"], "ISO 8601"),
        (["show", "01a20400-0000-7000-8000-000000000000"], "no task with id"),
        (["show", "not-an-id"], "no task with id"),
        (["cancel", "not-an-id"], "no task or series with id"),
        (["list", "--status", "bogus"], "--status"),
        (["cleanup", "--older-than", "-5"], "--older-than"),
    ],
)
def test_bad_input_fails_cleanly(app, store_url, args, message):
    result = run(*args, url=store_url)
    assert result.exit_code != 0
    assert message in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr


def test_bad_url_fails_cleanly():
    result = run("stats", url="mysql://nope")
    assert result.exit_code == 1 and result.stderr.startswith("error: unsupported Tasker URL")


# -- hostile strings -------------------------------------------------------------------

HOSTILE_TYPE = "[bold red]x[/]"
HOSTILE_PAYLOAD = {"note": "[link=https://evil.example]click[/link]"}


def test_hostile_strings_are_shown_literally(app, store_url):
    task_id = app.create(HOSTILE_TYPE, HOSTILE_PAYLOAD, queue="[blink]q[/]")
    listed = run("list", url=store_url).stdout
    assert HOSTILE_TYPE in listed and "[blink]q[/]" in listed and "[link=https://evil.example]click[/link]" in listed
    shown = run("show", task_id, url=store_url).stdout
    assert HOSTILE_TYPE in shown and "[link=https://evil.example]click[/link]" in shown
    missing = run("show", "[red]nope[/red]", url=store_url)
    assert "[red]nope[/red]" in missing.stderr


def test_control_characters_are_escaped_on_a_terminal(tmp_path):
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    with Tasker(url) as app:
        app.migrate()

        @app.handler(max_attempts=1)
        def evil(payload):
            raise RuntimeError("evil\x1b[31mRED\u202e")

        task_id = app.create("evil", {"e": "[bold]x[/bold]\u202e"})
        app.process_queue()
    env = {"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "COLUMNS": "200"}
    for args in (["list"], ["show", task_id]):
        output = run_process(*args, "--url", url, cwd=tmp_path, env=env).stdout
        assert "\x1b[31mRED" not in output and "\u202e" not in output
        assert "[bold]x[/bold]\\u202e" in output
    assert "evil\\x1b[31mRED\\u202e" in run_process("show", task_id, "--url", url, cwd=tmp_path, env=env).stdout


# -- help and python -m ------------------------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "Example" in result.stdout and "--url" in result.stdout


def test_python_m_tasker(tmp_path):
    result = run_process("--help", cwd=tmp_path)
    assert result.returncode == 0 and "Example" in result.stdout
    assert all(command in result.stdout for command in COMMANDS)


def test_parse_queues():
    assert parse_queues((), 10) is None
    assert parse_queues(("emails", "reports"), 10) == ["emails", "reports"]
    assert parse_queues(("emails:5", "reports"), 10) == {"emails": 5, "reports": 10}


# -- demo ------------------------------------------------------------------------------

def test_demo_runs_to_completion_and_leaves_other_tasks_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Tasker(url) as app:
        app.migrate()
        mine = app.create("send_email", {"to": "real@example.com"})
    result = run_process("demo", "--url", url, cwd=tmp_path, timeout=90)
    assert result.returncode == 0, result.stderr
    assert table_row(result.stdout, "build_report")[2:4] == ["failed", "3"]
    assert table_row(result.stdout, "sync_webhook")[2:4] == ["succeeded", "2"]
    assert "Traceback" not in result.stderr
    with Tasker(url) as app:
        assert app.get(mine).status is TaskStatus.QUEUED


# -- worker ----------------------------------------------------------------------------

WORKER_MODULE = """
    import threading
    from tasker import Tasker

    app = Tasker()   # picks up --url through TASKER_URL

    @app.handler()
    def double(payload):
        return payload * 2

    @app.handler()
    def hang(payload):
        threading.Event().wait()   # a sync handler stuck for good
"""


def start_worker(tmp_path: Path, *args: str) -> subprocess.Popen:
    (tmp_path / "tests_module.py").write_text(textwrap.dedent(WORKER_MODULE))
    environ = {k: v for k, v in os.environ.items() if k != "TASKER_URL"}
    return subprocess.Popen([sys.executable, "-m", "tasker", "worker", "tests_module:app", *args],
                            cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_worker_processes_tasks_and_stops_on_sigterm(app, store_url, tmp_path):
    ids = [app.create("double", n) for n in range(5)]
    hung = app.create("hang")
    proc = start_worker(tmp_path, "--url", store_url, "--concurrency", "4", "--queue", "default:4", "--grace-period", "0.5", "--poll-interval", "0.1")
    try:
        wait_until(lambda: all(app.get(i).status is TaskStatus.SUCCEEDED for i in ids), timeout=30, message="tasks succeeded")
        wait_until(lambda: app.get(hung).status is TaskStatus.RUNNING, timeout=10, message="hang running")
        proc.send_signal(signal.SIGTERM)
        # The stuck handler thread must not keep the process alive after the grace period.
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert [app.get(i).result for i in ids] == [0, 2, 4, 6, 8]
    assert "stopped" in stderr and "INFO" in stderr and "warning: --url" not in stderr
    # The stuck handler ran on a daemon thread: the process exited anyway (communicate returned).
    wait_until(lambda: app.get(hung).status is TaskStatus.QUEUED, timeout=10, message="hung task handed back")


@pytest.mark.parametrize(
    "target, message",
    [
        ("no_such_module:app", "cannot import 'no_such_module'"),
        ("tests_module:nope", "has no attribute 'nope'"),
        ("tests_module:threading", "not a tasker.Tasker instance"),
        ("tests_module", "expected MODULE:ATTR"),
    ],
)
def test_worker_bad_target(tmp_path, target, message):
    (tmp_path / "tests_module.py").write_text(textwrap.dedent(WORKER_MODULE))
    result = run_process("worker", target, "--url", f"sqlite:///{tmp_path / 'w.db'}", cwd=tmp_path)
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_warns_when_the_app_uses_another_store(tmp_path):
    (tmp_path / "fixed.py").write_text("from tasker import Tasker\napp = Tasker('sqlite:///fixed.db')\n")
    result = run_process("worker", "fixed:app", "--url", f"sqlite:///{tmp_path / 'other.db'}", cwd=tmp_path)
    # No handlers: the worker refuses to start, after the warning.
    assert "warning: --url is" in result.stderr and "fixed.db" in result.stderr
    assert result.returncode == 1 and "no handlers" in result.stderr


def test_schedules_and_cancelling_a_series(store_url, app):
    import subprocess
    import sys

    series = app.schedule_every("*/5 * * * *", "report[bold]", {"x": 1}, timezone="Europe/Paris")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "tasker", *args, "--url", store_url], capture_output=True, text=True, timeout=60)

    listed = run("schedules")
    assert listed.returncode == 0, listed.stderr
    assert series in listed.stdout and "report[bold]" in listed.stdout and "Europe/Paris" in listed.stdout
    as_json = run("schedules", "--json")
    assert '"cron": "*/5 * * * *"' in as_json.stdout
    cancelled = run("cancel", series)
    assert cancelled.returncode == 0 and "cancelled series" in cancelled.stdout
    again = run("cancel", series)
    assert again.returncode == 1 and "already cancelled" in again.stderr
    assert "no recurring series" in run("schedules").stdout
    assert series in run("schedules", "--all").stdout


def test_retry_a_failed_task(store_url, app):
    @app.handler(max_attempts=1)
    def broken(payload):
        raise RuntimeError("nope")

    failed = app.create("broken")
    app.process_queue()
    queued = app.create("broken", delay=60)
    result = run("retry", failed, url=store_url)
    assert result.exit_code == 0 and "queued" in result.stdout
    assert app.get(failed).status.value == "queued" and app.get(failed).max_attempts == 2
    refused = run("retry", queued, url=store_url)
    assert refused.exit_code == 1 and "it is queued, not failed or cancelled" in refused.stderr
    unknown = run("retry", "01a2b3c4-0000-7000-8000-000000000000", url=store_url)
    assert unknown.exit_code == 1 and "no task with id" in unknown.stderr
