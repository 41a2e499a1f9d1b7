"""The ``tasker`` command line, on both stores.

Most commands run in-process through click's CliRunner (fast, separate
stdout/stderr); ``python -m tasker``, ``--app``, the demo, the dashboard and the
worker run as real subprocesses because they import user modules or are about
process behaviour (signals, exit codes, log lines).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from polling import wait_until
from tasker import Task, Tasker, TaskStatus
from tasker.cli import COMMANDS, EXIT_CODES, Exit, cli, parse_queues

ROOT = Path(__file__).resolve().parents[2]
ID = "01a20400-0000-7000-8000-000000000000"   # well formed, never stored


def run(*args: str, url: str | None = None, input: str | None = None) -> Result:
    """Invoke the CLI in-process; an uncaught exception (a traceback) fails the test."""
    argv = [*args, *(["--url", url] if url else [])]
    result = CliRunner().invoke(cli, argv, env={"TASKER_URL": None}, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def as_json(*args: str, url: str | None = None, input: str | None = None):
    result = run(*args, "--json", url=url, input=input)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def run_process(*args: str, cwd: Path, env: dict | None = None, timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "TASKER_URL"} | (env or {})
    return subprocess.run([sys.executable, "-m", "tasker", *args], cwd=cwd, env=environ, capture_output=True, text=True,
                          timeout=timeout, input=input)


def table_row(output: str, needle: str) -> list[str]:
    """The cells of the first table line containing ``needle``."""
    line = next(line for line in output.splitlines() if needle in line)
    return [cell.strip() for cell in line.split("│")]


def finished(app: Tasker, *types: str) -> dict[str, str]:
    """One task per status that cleanup may delete: {"succeeded": id, "failed": id, "cancelled": id}."""

    def work(payload):
        if payload == "fail":
            raise RuntimeError("it broke")
        return payload

    for type_ in types or ("job",):
        app.register(type_, work, max_attempts=1)
    type_ = (types or ("job",))[0]
    ids = {"succeeded": app.create(type_, "ok"), "failed": app.create(type_, "fail"), "cancelled": app.create(type_, delay=60)}
    app.cancel(ids["cancelled"])
    app.process_queue()
    return ids


# -- help, exit codes, --json everywhere ---------------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_documents_json_url_and_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and "--url" in result.stdout and "--json" in result.stdout
    assert "--json prints" in result.stdout or "--json logs" in result.stdout, "the JSON output is described"


def test_the_group_help_lists_every_command_and_the_exit_codes(tmp_path):
    result = run_process("--help", cwd=tmp_path)
    assert result.returncode == 0 and "Example" in result.stdout
    assert all(command in result.stdout for command in COMMANDS)
    assert {"pause", "resume", "run-now", "delete", "workers", "result"} <= set(COMMANDS)
    assert "Exit codes" in result.stdout
    for code in EXIT_CODES:
        assert re.search(rf"^\s+{int(code)}\s+\S", result.stdout, re.M), f"exit code {int(code)} explained"


def test_the_readme_documents_the_same_exit_codes_and_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Operating it"):readme.index("## Dashboard")]
    for code in EXIT_CODES:
        assert f"| `{int(code)}` |" in section, f"README's CLI section lacks exit code {int(code)}"
    for command in COMMANDS:
        assert f"tasker {command}" in readme, f"README never shows `tasker {command}`"


def test_exit_codes_are_one_convention():
    assert (Exit.OK, Exit.FAILED, Exit.USAGE, Exit.UNAVAILABLE) == (0, 1, 2, 3)


# -- migrate, enqueue ------------------------------------------------------------------------

def test_migrate_then_already_up_to_date(store_url):
    first = run("migrate", url=store_url)
    assert first.exit_code == 0, first.stderr
    assert "applied migration" in first.stdout
    second = as_json("migrate", url=store_url)
    assert second["applied"] == [] and second["store"]


def test_enqueue_with_options(app, store_url):
    result = run("enqueue", "send_email", '{"to": "ada@example.com"}', "--queue", "emails", "--priority", "5",
                 "--max-attempts", "7", "--unique-key", "welcome:ada", "--meta", '{"tenant": "acme"}', "--delay", "60",
                 "--timeout", "2m", url=store_url)
    assert result.exit_code == 0, result.stderr
    task = app.get(result.stdout.strip())
    assert (task.type, task.payload, task.queue, task.priority) == ("send_email", {"to": "ada@example.com"}, "emails", 5)
    assert (task.max_attempts, task.unique_key, task.meta, task.timeout) == (7, "welcome:ada", {"tenant": "acme"}, 120.0)
    assert task.run_at > datetime.now(timezone.utc) + timedelta(seconds=30)


def test_enqueue_json_is_the_stored_task_and_durations_read_units(app, store_url):
    before = datetime.now(timezone.utc)
    first = app.create("report")
    data = as_json("enqueue", "report", '{"month": "2026-10"}', "--delay", "1h30m", "--depends-on", first, url=store_url)
    task = app.get(data["id"])
    assert data["payload"] == {"month": "2026-10"} and data["status"] == "queued" and data["queue"] == "default"
    assert datetime.fromisoformat(data["run_at"]) == task.run_at and task.pending_dependencies == 1
    assert timedelta(minutes=89) < task.run_at - before < timedelta(minutes=91)


def test_enqueue_run_at_and_no_payload(app, store_url):
    when = datetime(2031, 5, 4, 3, 2, 1, tzinfo=timezone.utc)
    result = run("enqueue", "tick", "--run-at", "2031-05-04T03:02:01Z", url=store_url)
    task = app.get(result.stdout.strip())
    assert task.run_at == when and task.payload is None


def test_enqueue_reads_the_payload_from_stdin(app, store_url):
    payload = {"image": 42, "sizes": [320, 640], "note": "ünïcode"}
    task_id = run("enqueue", "resize", "-", url=store_url, input=json.dumps(payload)).stdout.strip()
    assert app.get(task_id).payload == payload
    bad = run("enqueue", "resize", "-", url=store_url, input="{not json")
    assert bad.exit_code == Exit.USAGE and "not valid JSON on standard input" in bad.stderr
    assert len(app.list()) == 1


APP_MODULE = """
    from dataclasses import dataclass
    from tasker import Tasker

    app = Tasker()   # picks up --url through TASKER_URL

    @dataclass
    class Resize:
        image: int
        width: int = 800

    @app.handler("resize", payload=Resize, queue="media", max_attempts=7, timeout=45, priority=3)
    def resize(job):
        return job.width

    @app.task(name="welcome", queue="emails")
    def welcome(user_id: int, locale: str = "en") -> str:
        return f"{user_id}:{locale}"
"""


def test_enqueue_with_app_uses_the_handlers_options_and_checks(app, store_url, tmp_path):
    (tmp_path / "shop_tasks.py").write_text(textwrap.dedent(APP_MODULE))

    def enqueue(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return run_process("enqueue", *args, "--app", "shop_tasks:app", "--url", store_url, cwd=tmp_path, input=input)

    made = enqueue("resize", "-", "--json", input='{"image": 42}')
    assert made.returncode == 0, made.stderr
    task = app.get(json.loads(made.stdout)["id"])
    assert (task.queue, task.max_attempts, task.timeout, task.priority) == ("media", 7, 45.0, 3)
    assert task.payload == {"image": 42, "width": 800}, "the payload model's defaults are filled in"
    overridden = app.get(enqueue("resize", '{"image": 1}', "--queue", "urgent").stdout.strip())
    assert (overridden.queue, overridden.max_attempts) == ("urgent", 7)
    call = app.get(enqueue("welcome", '{"args": [42], "kwargs": {"locale": "fr"}}').stdout.strip())
    assert call.queue == "emails" and call.payload == {"args": [42], "kwargs": {"locale": "fr"}}

    refusals = [
        (enqueue("resize", '{"width": 10}'), "payload.image: required by Resize"),
        (enqueue("resize", '{"image": 1, "colour": "red"}'), "payload.colour: not a field of Resize"),
        (enqueue("welcome", '{"args": [], "kwargs": {}}'), "missing a required argument: 'user_id'"),
        (enqueue("resise", "{}"), "has no handler for task type 'resise'; it has: resize, welcome"),
    ]
    for refused, message in refusals:
        assert refused.returncode == Exit.USAGE and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert len(app.list()) == 3, "nothing refused was stored"


# -- list, show, result --------------------------------------------------------------------

def test_show_table_and_json(app, store_url):
    task_id = app.create("resize", {"w": 640}, meta={"req": "r1"})
    table = run("show", task_id, url=store_url)
    assert table.exit_code == 0
    assert task_id in table.stdout and "resize" in table.stdout and '{"w": 640}' in table.stdout
    data = as_json("show", task_id, url=store_url)
    assert data["id"] == task_id and data["status"] == "queued" and data["meta"] == {"req": "r1"}
    assert datetime.fromisoformat(data["created_at"]).tzinfo is not None
    assert set(data) == {field.name for field in dataclasses.fields(Task)}, "the keys its help lists"


def test_show_prints_last_error_with_traceback(app, store_url):
    failed = finished(app)["failed"]
    output = run("show", failed, url=store_url).stdout
    assert "failed" in output and "RuntimeError: it broke" in output and "Traceback" in output
    assert as_json("show", failed, url=store_url)["last_error"].startswith("RuntimeError: it broke")


def test_list_table_json_and_filters(app, store_url):
    email = app.create("send_email", {"n": 1}, queue="emails")
    report = app.create("build_report", {"n": 2})
    app.cancel(report)
    table = run("list", url=store_url).stdout
    assert table_row(table, email)[1:5] == ["send_email", "queued", "0/3", "emails"]
    assert table_row(table, report)[1:3] == ["build_report", "cancelled"]
    assert {t["id"] for t in as_json("list", url=store_url)} == {email, report}
    assert [t["id"] for t in as_json("list", "--status", "cancelled", url=store_url)] == [report]
    assert [t["id"] for t in as_json("list", "--queue", "emails", "--type", "send_email", url=store_url)] == [email]
    assert len(as_json("list", "--limit", "1", url=store_url)) == 1


def test_result_of_each_kind_of_task(app, store_url):
    def greet(payload):
        return f"hello {payload}" if isinstance(payload, str) else {"sum": sum(payload)}

    app.register("greet", greet)
    text_id, data_id = app.create("greet", "ada"), app.create("greet", [1, 2])
    ids = finished(app)
    app.process_queue()
    queued = app.create("later", delay=60)
    assert run("result", text_id, url=store_url).stdout == "hello ada\n"
    assert json.loads(run("result", data_id, url=store_url).stdout) == {"sum": 3}
    assert as_json("result", data_id, url=store_url) == {"id": data_id, "status": "succeeded", "result": {"sum": 3}, "last_error": None}

    failed = run("result", ids["failed"], url=store_url)
    assert failed.exit_code == Exit.FAILED and failed.stdout == "" and "failed: RuntimeError: it broke" in failed.stderr
    failed_json = run("result", ids["failed"], "--json", url=store_url)
    assert failed_json.exit_code == Exit.FAILED and json.loads(failed_json.stdout)["status"] == "failed"
    waiting = run("result", queued, url=store_url)
    assert waiting.exit_code == Exit.FAILED and "still queued (--wait DURATION waits for it)" in waiting.stderr
    waited = run("result", queued, "--wait", "200ms", url=store_url)
    assert waited.exit_code == Exit.FAILED and "still queued" in waited.stderr
    assert run("result", ID, url=store_url).exit_code == Exit.FAILED


# -- cancel, retry, run-now, delete ------------------------------------------------------------

def test_cancel_true_then_false(app, store_url):
    task_id = app.create("x")
    first = as_json("cancel", task_id, url=store_url)
    assert first == {"id": task_id, "kind": "task", "action": "cancel", "status": "cancelled"}
    assert app.get(task_id).status is TaskStatus.CANCELLED
    second = run("cancel", task_id, url=store_url)
    assert second.exit_code == Exit.FAILED
    assert "already cancelled" in second.stderr and second.stdout == ""


def test_retry_a_failed_task(store_url, app):
    ids = finished(app)
    queued = app.create("job", delay=60)
    result = run("retry", ids["failed"], url=store_url)
    assert result.exit_code == 0 and "queued" in result.stdout
    assert app.get(ids["failed"]).status.value == "queued" and app.get(ids["failed"]).max_attempts == 2
    assert as_json("retry", ids["cancelled"], url=store_url)["status"] == "queued"
    refused = run("retry", queued, url=store_url)
    assert refused.exit_code == Exit.FAILED and "it is queued, not failed or cancelled" in refused.stderr
    succeeded = run("retry", ids["succeeded"], url=store_url)
    assert succeeded.exit_code == Exit.FAILED and "it is already succeeded" in succeeded.stderr
    unknown = run("retry", ID, url=store_url)
    assert unknown.exit_code == Exit.FAILED and "no task with id" in unknown.stderr


def test_run_now_makes_a_delayed_task_due(app, store_url):
    later = app.create("x", delay=3600)
    assert as_json("run-now", later, url=store_url) == {"id": later, "kind": "task", "action": "run_now", "status": "queued"}
    assert app.get(later).run_at <= datetime.now(timezone.utc)
    app.cancel(later)
    refused = run("run-now", later, url=store_url)
    assert refused.exit_code == Exit.FAILED and "cannot run now" in refused.stderr and "already cancelled" in refused.stderr
    assert run("run-now", ID, url=store_url).exit_code == Exit.FAILED


def test_delete_a_task(app, store_url):
    queued, kept = app.create("x"), app.create("x")
    assert as_json("delete", queued, url=store_url) == {"id": queued, "kind": "task", "action": "delete", "status": None}
    assert app.get(queued) is None and app.get(kept) is not None
    again = run("delete", queued, url=store_url)
    assert again.exit_code == Exit.FAILED and "no task with id" in again.stderr


# -- cleanup -----------------------------------------------------------------------------------

def test_cleanup_with_an_age_deletes_only_finished(app, store_url):
    ids = finished(app)
    queued = app.create("job", delay=60)
    assert "deleted 0" in run("cleanup", "--older-than", "1h", url=store_url).stdout
    assert as_json("cleanup", "--older-than", "0", url=store_url) == {
        "dry_run": False, "count": 3, "older_than": 0.0, "status": None, "type": None}
    assert all(app.get(i) is None for i in ids.values()) and app.get(queued).status is TaskStatus.QUEUED


def test_cleanup_without_an_age_asks_first(app, store_url):
    ids = finished(app)
    for answer in ("n\n", "\n", ""):   # no, the default, and no terminal at all
        declined = run("cleanup", url=store_url, input=answer)
        assert declined.exit_code == Exit.FAILED and "nothing was deleted" in declined.stderr
        assert "delete all 3 matching finished task(s)?" in declined.stderr and declined.stdout == ""
        assert all(app.get(i) is not None for i in ids.values())
    agreed = run("cleanup", "--status", "failed", url=store_url, input="y\n")
    assert agreed.exit_code == 0 and "deleted 1" in agreed.stdout and app.get(ids["failed"]) is None
    assert as_json("cleanup", "--yes", url=store_url)["count"] == 2
    assert run("cleanup", url=store_url, input="").exit_code == 0, "nothing matches: nothing to ask"


def test_cleanup_dry_run_and_filters(app, store_url):
    ids = finished(app, "job", "other")
    other = app.create("other", "ok")
    app.process_queue()
    dry = as_json("cleanup", "--dry-run", url=store_url)
    assert dry == {"dry_run": True, "count": 4, "older_than": None, "status": None, "type": None}
    assert "would delete 1 finished task(s) (dry run: nothing deleted)" in run("cleanup", "--dry-run", "--status", "failed", url=store_url).stdout
    assert all(app.get(i) is not None for i in [*ids.values(), other]), "a dry run deletes nothing"
    assert as_json("cleanup", "--type", "other", "--yes", url=store_url)["count"] == 1 and app.get(other) is None
    assert as_json("cleanup", "--status", "succeeded", "--type", "job", "--older-than", "0s", url=store_url)["count"] == 1
    assert app.get(ids["succeeded"]) is None and app.get(ids["failed"]) is not None
    refused = run("cleanup", "--status", "queued", "--yes", url=store_url)
    assert refused.exit_code == Exit.USAGE and "'queued' is not one of" in refused.stderr


# -- stats, workers, schedules, pause, resume ----------------------------------------------------

def test_stats_json_and_table(app, store_url):
    app.create("x", queue="emails")
    app.cancel(app.create("x"))
    app.pause_queue("emails")
    stats = as_json("stats", url=store_url)
    assert stats["queued"] == 1 and stats["cancelled"] == 1 and stats["paused_queues"] == ["emails"]
    assert stats["by_queue"]["emails"]["queued"] == 1
    table = run("stats", url=store_url).stdout
    assert table_row(table, "emails")[0] == "emails (paused)" and table_row(table, "emails")[1] == "1"
    assert "paused queues: emails" in table
    assert "flow limits" not in table
    app.configure_queue("emails", concurrency_limit=3, rate_limit="10/s")
    table = run("stats", url=store_url).stdout
    assert "flow limits" in table and "10/s" in table
    (limit,) = as_json("stats", url=store_url)["flow_limits"]
    assert limit["name"] == "emails" and limit["concurrency_limit"] == 3 and limit["waiting"] == 1


def test_pause_and_resume_queues(app, store_url):
    paused = as_json("pause", "emails", "reports", url=store_url)
    assert paused == {"changed": ["emails", "reports"], "paused_queues": ["emails", "reports"]}
    assert sorted(app.stats()["paused_queues"]) == ["emails", "reports"]
    resumed = run("resume", "emails", url=store_url)
    assert resumed.exit_code == 0 and "resumed emails" in resumed.stdout and "paused now: reports" in resumed.stdout
    refused = run("pause", "ok", "", url=store_url)
    assert refused.exit_code == Exit.USAGE and "queue must not be empty" in refused.stderr
    assert app.paused_queues() == ["reports"], "a bad name anywhere changes nothing"
    assert run("pause", url=store_url).exit_code == Exit.USAGE


def test_workers_when_none_ran(app, store_url):
    assert as_json("workers", url=store_url) == []
    assert "no workers" in run("workers", url=store_url).stdout


def test_schedules_and_cancelling_a_series(store_url, app):
    series = app.schedule_every("*/5 * * * *", "report[bold]", {"x": 1}, timezone="Europe/Paris")
    listed = run("schedules", url=store_url)
    assert listed.exit_code == 0, listed.stderr
    assert series in listed.stdout and "report[bold]" in listed.stdout and "Europe/Paris" in listed.stdout
    [data] = as_json("schedules", url=store_url)
    assert data["cron"] == "*/5 * * * *" and datetime.fromisoformat(data["next_run_at"]).tzinfo is not None
    assert as_json("cancel", series, url=store_url) == {"id": series, "kind": "series", "action": "cancel", "status": "cancelled"}
    again = run("cancel", series, url=store_url)
    assert again.exit_code == Exit.FAILED and "already cancelled" in again.stderr
    assert "no recurring series" in run("schedules", url=store_url).stdout
    assert series in run("schedules", "--all", url=store_url).stdout


# -- the store: never created by reading, URLs, unreachable ---------------------------------------

READING = [["stats"], ["list"], ["show", ID], ["result", ID], ["workers"], ["schedules"], ["cancel", ID], ["retry", ID],
           ["run-now", ID], ["delete", ID], ["cleanup", "--yes"], ["cleanup", "--dry-run"], ["pause", "q"], ["resume", "q"],
           ["dashboard"]]


@pytest.mark.parametrize("command", READING, ids=lambda c: c[0])
def test_commands_on_existing_tasks_never_create_a_sqlite_database(command, tmp_path):
    missing = tmp_path / "typo.db"
    result = run(*command, url=f"sqlite:///{missing}")
    assert result.exit_code == Exit.UNAVAILABLE and result.stdout == ""
    assert f"no SQLite database at {missing} (nothing was created)" in result.stderr
    assert list(tmp_path.iterdir()) == [], "no file was created"


def test_commands_that_store_something_new_may_create_it(tmp_path):
    assert run("enqueue", "x", url=f"sqlite:///{tmp_path / 'a.db'}").exit_code == 0
    assert run("migrate", url=f"sqlite:///{tmp_path / 'b.db'}").exit_code == 0
    assert (tmp_path / "a.db").exists() and (tmp_path / "b.db").exists()


@pytest.mark.parametrize("command", [["stats"], ["enqueue", "x"], ["migrate"], ["worker", "m:app"], ["dashboard"]], ids=lambda c: c[0])
def test_a_sqlite_url_with_two_slashes_is_refused_showing_the_right_form(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*command, url="sqlite://relative.db")
    assert result.exit_code == Exit.USAGE
    assert "sqlite:///relative.db" in result.stderr and "sqlite:////abs/path.db" in result.stderr
    assert os.listdir(tmp_path) == []
    from_env = CliRunner().invoke(cli, ["stats"], env={"TASKER_URL": "sqlite://relative.db"})
    assert from_env.exit_code == Exit.USAGE and "TASKER_URL" in from_env.stderr


def test_bad_url_is_a_usage_error():
    result = run("stats", url="mysql://nope")
    assert result.exit_code == Exit.USAGE and "unsupported Tasker URL" in result.stderr


def test_an_unusable_store_exits_3(pg_url, tmp_path):
    unreachable = run("stats", url="postgresql://app:s3cret-pw@127.0.0.1:1/app")
    assert unreachable.exit_code == Exit.UNAVAILABLE and "cannot connect to PostgreSQL" in unreachable.stderr
    assert "s3cret-pw" not in unreachable.stderr and "app:***@" in unreachable.stderr
    no_schema = run("list", url=f"{pg_url}{'&' if '?' in pg_url else '?'}schema=t_never_migrated")
    assert no_schema.exit_code == Exit.UNAVAILABLE and "run `tasker migrate`" in no_schema.stderr


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "args, code, message",
    [
        (["enqueue", "x", "{not json"], Exit.USAGE, "PAYLOAD_JSON"),
        (["enqueue", "x", "--meta", "[1,"], Exit.USAGE, "--meta"),
        (["enqueue", "x", "--meta", "[1]"], Exit.USAGE, "meta"),
        (["enqueue", "", "{}"], Exit.USAGE, "must not be empty"),
        (["enqueue", "x", "--max-attempts", "0"], Exit.USAGE, "Invalid value for '--max-attempts': max_attempts must be >= 1"),
        (["enqueue", "x", "--run-at", "next tuesday"], Exit.USAGE, "ISO 8601"),
        (["enqueue", "x", "--delay", "7x"], Exit.USAGE, "Invalid value for '--delay': delay '7x' is not a duration"),
        (["enqueue", "x", "--delay", "1h1h"], Exit.USAGE, "each unit once"),
        (["enqueue", "x", "--timeout", "0"], Exit.USAGE, "timeout must be > 0"),
        (["enqueue", "x", "--depends-on", ID], Exit.FAILED, f"depends_on names unknown task id(s): {ID}"),
        (["show", ID], Exit.FAILED, "no task with id"),
        (["show", "not-an-id"], Exit.FAILED, "no task with id"),
        (["cancel", "not-an-id"], Exit.FAILED, "no task or series with id"),
        (["list", "--status", "bogus"], Exit.USAGE, "--status"),
        (["cleanup", "--older-than", "-5"], Exit.USAGE, "--older-than"),
        (["cleanup", "--older-than", "soon"], Exit.USAGE, "'soon' is not a duration"),
        (["nonsense"], Exit.USAGE, "No such command"),
    ],
)
def test_bad_input_fails_cleanly(app, store_url, args, code, message):
    result = run(*args, url=store_url)
    assert result.exit_code == code
    assert message in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr
    assert app.list() == [], "nothing was stored"


# -- hostile strings ----------------------------------------------------------------------------

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


def test_parse_queues():
    assert parse_queues((), 10) is None
    assert parse_queues(("emails", "reports"), 10) == ["emails", "reports"]
    assert parse_queues(("emails:5", "reports"), 10) == {"emails": 5, "reports": 10}


# -- demo -----------------------------------------------------------------------------------------

def test_demo_runs_to_completion_and_says_how_to_look_further(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Tasker(url) as app:
        app.migrate()
        mine = app.create("send_email", {"to": "real@example.com"})
    result = run_process("demo", "--url", url, cwd=tmp_path, timeout=90)
    assert result.returncode == 0, result.stderr
    assert table_row(result.stdout, "build_report")[2:5] == ["failed", "3", "RuntimeError: report template 'q3-revenue' not found"]
    assert table_row(result.stdout, "sync_webhook")[2:5] == ["succeeded", "2", ""], "no error shown for a task that succeeded"
    tasker = str(Path(sys.executable).with_name("tasker"))
    assert f"{tasker} dashboard --url sqlite:///demo.db" in result.stdout and "http://127.0.0.1:8080/" in result.stdout
    assert f"{tasker} list --queue tasker-demo --url sqlite:///demo.db" in result.stdout
    assert f"source {Path(sys.executable).with_name('activate')}" in result.stdout, "how to put tasker on PATH"
    assert "Traceback" not in result.stderr
    with Tasker(url) as app:
        assert app.get(mine).status is TaskStatus.QUEUED


def test_demo_json(tmp_path):
    result = run_process("demo", "--json", "--url", f"sqlite:///{tmp_path / 'demo.db'}", cwd=tmp_path, timeout=90)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["finished"] is True and data["counts"] == {"succeeded": 22, "failed": 1}
    assert len(data["tasks"]) == 23 and all(t["queue"] == "tasker-demo" for t in data["tasks"])
    assert any(" dashboard --url sqlite:///demo.db" in command for command in data["next"])


# -- worker and dashboard ----------------------------------------------------------------------------

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


def start_worker(tmp_path: Path, *args: str, stderr=subprocess.PIPE) -> subprocess.Popen:
    (tmp_path / "tests_module.py").write_text(textwrap.dedent(WORKER_MODULE))
    environ = {k: v for k, v in os.environ.items() if k != "TASKER_URL"}
    return subprocess.Popen([sys.executable, "-m", "tasker", "worker", "tests_module:app", *args],
                            cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=stderr, text=True)


def stop(proc: subprocess.Popen) -> str:
    """SIGTERM, then the stderr it left (killed if it does not stop)."""
    try:
        proc.send_signal(signal.SIGTERM)
        return proc.communicate(timeout=30)[1] or ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_worker_processes_tasks_shows_in_workers_and_stops_on_sigterm(app, store_url, tmp_path):
    ids = [app.create("double", n) for n in range(5)]
    hung = app.create("hang")
    proc = start_worker(tmp_path, "--url", store_url, "--concurrency", "4", "--queue", "default:4", "--grace-period", "500ms",
                        "--poll-interval", "0.1")
    try:
        wait_until(lambda: all(app.get(i).status is TaskStatus.SUCCEEDED for i in ids), timeout=30, message="tasks succeeded")
        wait_until(lambda: app.get(hung).status is TaskStatus.RUNNING, timeout=10, message="hang running")
        [seen] = as_json("workers", url=store_url)
        assert seen["alive"] is True and seen["running"] == 1 and seen["concurrency"] == 4
        assert seen["types"] == ["double", "hang"] and seen["pid"] == proc.pid
        assert str(proc.pid) in run("workers", url=store_url).stdout
        # The stuck handler thread must not keep the process alive after the grace period.
        stderr = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert [app.get(i).result for i in ids] == [0, 2, 4, 6, 8]
    assert "stopped" in stderr and "INFO" in stderr and "warning: --url" not in stderr
    wait_until(lambda: app.get(hung).status is TaskStatus.QUEUED, timeout=10, message="hung task handed back")


def test_worker_json_logs_one_object_per_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Tasker(url) as app:
        app.migrate()
        task_id = app.create("double", 21)
        proc = start_worker(tmp_path, "--url", url, "--json", "--poll-interval", "50ms")
        try:
            wait_until(lambda: app.get(task_id).status is TaskStatus.SUCCEEDED, timeout=30, message="task ran")
        finally:
            stderr = stop(proc)
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    [attempt] = [r for r in records if r.get("task_id") == task_id]
    assert (attempt["task_type"], attempt["attempt"], attempt["status"], attempt["level"]) == ("double", 1, "succeeded", "INFO")
    assert datetime.fromisoformat(attempt["time"]).tzinfo is not None


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
    assert result.returncode == Exit.FAILED and "no handlers" in result.stderr


def test_dashboard_json_logs(tmp_path):
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    with Tasker(url) as migrated:
        migrated.migrate()
    log = tmp_path / "dashboard.log"
    environ = {k: v for k, v in os.environ.items() if k not in ("TASKER_URL", "TASKER_DASHBOARD_TOKEN")}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tasker", "dashboard", "--json", "--port", "0", "--url", url],
                                cwd=tmp_path, env=environ, stdout=subprocess.DEVNULL, stderr=out)
        try:
            wait_until(lambda: proc.poll() is not None or "Uvicorn running" in log.read_text(), timeout=30, message="server up")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    messages = [r["message"] for r in records]
    assert any(m.startswith("Tasker dashboard for sqlite:///") and "loopback clients only" in m for m in messages), messages
    assert any("Uvicorn running" in m for m in messages), "the server's own lines are JSON too"
