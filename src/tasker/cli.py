"""The ``tasker`` command line: run workers, enqueue, inspect and control tasks.

Everything printed that came from the database (types, payloads, errors) is
untrusted: it goes through ``Text`` (never rich markup) with control
characters made visible, so a hostile task cannot restyle or spoof the output.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import sqlite3
import sys
import threading
import unicodedata
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .app import Tasker
from .errors import TaskerError
from .jsonable import jsonable
from .logs import FORMATS, configure_logging
from .store.url import StoreConfig, parse_url, redact
from .task import STATUSES, Task, TaskStatus, refusal

DEFAULT_URL_HELP = "Database URL [env: TASKER_URL; default: sqlite:///tasker.db in the current directory]."
STATUS_STYLES = {"queued": "cyan", "running": "yellow", "succeeded": "green", "failed": "red", "cancelled": "magenta"}
# Unicode bidi controls can visually reorder a line ("Trojan Source"); show them escaped.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


# -- output ------------------------------------------------------------------------

def stdout() -> Console:
    # Piped output gets a wide fixed width so ids and columns are never folded.
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200, soft_wrap=False)
    return console


def stderr() -> Console:
    # soft_wrap: one message stays one line, however narrow the terminal.
    return Console(stderr=True, highlight=False, soft_wrap=True)


def visible(value: Any, multiline: bool = False) -> str:
    """``str(value)`` with control and bidi characters shown as escapes."""
    keep = "\n\t" if multiline else ""
    out = []
    for ch in str(value):
        if ch in keep:
            out.append(ch)
        elif ch in BIDI or unicodedata.category(ch) == "Cc":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def text(value: Any, style: str = "", multiline: bool = False) -> Text:
    return Text("" if value is None else visible(value, multiline), style=style)


def task_dict(task: Task) -> dict[str, Any]:
    return jsonable(dataclasses.asdict(task))


def echo_json(value: Any) -> None:
    click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False, default=str))


def when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def short_json(value: Any, limit: int = 60) -> str:
    dumped = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return dumped if len(dumped) <= limit else dumped[: limit - 1] + "…"


def status_text(status: TaskStatus | str) -> Text:
    value = str(status)
    return text(value, STATUS_STYLES.get(value, ""))


def describe_store(config: StoreConfig) -> str:
    """The display URL, with the schema for PostgreSQL (display drops Tasker's own parameters)."""
    return config.display if config.kind == "sqlite" else f"{config.display} (schema {config.schema})"


# -- errors ------------------------------------------------------------------------

class UserError(click.ClickException):
    """An error the user can act on: ``error: ...`` on stderr, exit 1, no traceback."""

    def show(self, file: Any = None) -> None:
        stderr().print(text(f"error: {redact(self.message)}", multiline=True))


def api_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (TaskerError, ValueError, TypeError, NotImplementedError, OSError, sqlite3.Error)
    try:
        import psycopg

        errors += (psycopg.Error,)
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pass
    return errors


class TaskerGroup(click.Group):
    """Turns the API's user-facing exceptions into ``error: ...`` lines."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except api_errors() as exc:
            raise UserError(str(exc) or type(exc).__name__) from None


@contextmanager
def open_app(url: str | None) -> Iterator[Tasker]:
    # Closing explicitly releases connections before the interpreter tears down threads.
    with Tasker(store_url(url)[0]) as app:
        yield app


# -- parameter types ---------------------------------------------------------------

class JsonParam(click.ParamType):
    name = "JSON"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"not valid JSON ({exc})", param, ctx)


class IsoDatetime(click.ParamType):
    name = "ISO8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date-time (e.g. 2030-01-31T09:00:00+00:00)", param, ctx)


def url_option(fn: Any) -> Any:
    # No envvar here: the group's --url reads TASKER_URL, and a command's own --url wins over both.
    return click.option("--url", default=None, metavar="URL", help=DEFAULT_URL_HELP)(fn)


def store_url(url: str | None) -> tuple[str | None, bool]:
    """The URL to use, and whether it was given on the command line (vs. TASKER_URL or the default)."""
    if url is not None:
        return url, True
    root = click.get_current_context().find_root()
    explicit = root.get_parameter_source("url") is click.core.ParameterSource.COMMANDLINE
    return root.params.get("url"), explicit


def json_option(fn: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(fn)


# -- the group ---------------------------------------------------------------------

@click.group(cls=TaskerGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tasker-queue", prog_name="tasker")
@click.option("--url", envvar="TASKER_URL", default=None, metavar="URL", help=DEFAULT_URL_HELP)
def cli(url: str | None) -> None:
    """Tasker: durable background tasks on PostgreSQL or embedded SQLite.

    \b
    Example:
      tasker migrate --url postgresql://app@127.0.0.1/app
      tasker enqueue send_email '{"to": "ada@example.com"}'
      tasker worker myapp.tasks:app --concurrency 20
      tasker demo
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tasker`` script and ``python -m tasker``."""
    cli.main(args=argv, prog_name="tasker")


# -- migrate -----------------------------------------------------------------------

@cli.command()
@url_option
def migrate(url: str | None) -> None:
    """Create or upgrade the database schema (idempotent).

    \b
    Example:
      tasker migrate --url 'postgresql://app@127.0.0.1:5432/app?schema=jobs'
    """
    with open_app(url) as app:
        applied = app.migrate()
        where = describe_store(app.config)
    out = stdout()
    if applied:
        out.print(text(f"applied migration(s) {', '.join(map(str, applied))} to {where}"))
    else:
        out.print(text(f"already up to date: {where}"))


# -- enqueue -----------------------------------------------------------------------

@cli.command()
@click.argument("type_", metavar="TYPE")
@click.argument("payload", metavar="[PAYLOAD_JSON]", required=False, type=JsonParam())
@click.option("--delay", type=float, metavar="S", help="Run after this many seconds.")
@click.option("--run-at", type=IsoDatetime(), help="Run at this ISO 8601 date-time (naive means UTC).")
@click.option("--queue", metavar="Q", help="Queue name (default: the handler's, or 'default').")
@click.option("--priority", type=int, metavar="P", help="Higher runs first (default 0).")
@click.option("--max-attempts", type=int, metavar="N", help="Attempts before the task fails (default 3).")
@click.option("--unique-key", metavar="K", help="Skip if a queued or running task has this key.")
@click.option("--meta", type=JsonParam(), help="A JSON object stored with the task.")
@url_option
def enqueue(type_: str, payload: Any, url: str | None, **options: Any) -> None:
    """Store a task of type TYPE with an optional JSON payload; prints its id.

    \b
    Example:
      tasker enqueue send_email '{"to": "ada@example.com"}' --delay 60 --queue emails
    """
    options = {k: v for k, v in options.items() if v is not None}
    with open_app(url) as app:
        task_id = app.create(type_, payload, **options)
    click.echo(task_id)


# -- list --------------------------------------------------------------------------

@cli.command(name="list")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False), help="Only tasks with this status.")
@click.option("--type", "type_", metavar="T", help="Only tasks of this type.")
@click.option("--queue", metavar="Q", help="Only tasks in this queue.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True, help="At most this many tasks.")
@json_option
@url_option
def list_(status: str | None, type_: str | None, queue: str | None, limit: int, as_json: bool, url: str | None) -> None:
    """List tasks, newest first.

    \b
    Example:
      tasker list --status failed --queue emails --limit 20
    """
    with open_app(url) as app:
        tasks = app.list(status=status and status.lower(), type=type_, queue=queue, limit=limit)
    if as_json:
        echo_json([task_dict(t) for t in tasks])
        return
    out = stdout()
    out.print(tasks_table(tasks, out.width))


# (header, width it needs, cell, column options), most important first: narrow
# terminals drop columns from the end rather than squeeze every one unreadable.
TASK_COLUMNS: list[tuple[str, int, Any, dict[str, Any]]] = [
    ("ID", 36, lambda t: text(t.id), {"no_wrap": True}),
    ("TYPE", 12, lambda t: text(t.type), {"overflow": "fold", "min_width": 12}),
    ("STATUS", 9, lambda t: status_text(t.status), {"no_wrap": True}),
    ("TRIES", 5, lambda t: text(f"{t.attempts}/{t.max_attempts}"), {"justify": "right", "no_wrap": True}),
    ("QUEUE", 8, lambda t: text(t.queue), {"overflow": "fold", "min_width": 8}),
    ("RUN AT (UTC)", 19, lambda t: text(when(t.run_at)), {"no_wrap": True}),
    ("PAYLOAD", 12, lambda t: text(short_json(t.payload)), {"overflow": "ellipsis", "no_wrap": True, "ratio": 1}),
    ("PRI", 3, lambda t: text(t.priority), {"justify": "right"}),
]


def tasks_table(tasks: list[Task], width: int) -> Table | Text:
    if not tasks:
        return Text("no tasks")
    columns: list[tuple[str, int, Any, dict[str, Any]]] = []
    used = 0
    for column in TASK_COLUMNS:
        used += column[1] + 3  # cell padding and separator
        if columns and used > width:
            break
        columns.append(column)
    table = Table(show_edge=False, header_style="bold")
    for header, _, _, options in columns:
        table.add_column(header, **options)
    for t in tasks:
        table.add_row(*(cell(t) for _, _, cell, _ in columns))
    return table


# -- show --------------------------------------------------------------------------

@cli.command()
@click.argument("task_id", metavar="ID")
@json_option
@url_option
def show(task_id: str, as_json: bool, url: str | None) -> None:
    """Show every field of one task, including its last error and traceback.

    \b
    Example:
      tasker show 01a203fe-73cd-711e-85ca-8c679aa0b330 --json
    """
    with open_app(url) as app:
        task = app.get(task_id)
    if task is None:
        raise UserError(f"no task with id {task_id!r}")
    if as_json:
        echo_json(task_dict(task))
        return
    out = stdout()
    out.print(task_table(task))
    if task.last_error:
        out.print(Text("\nlast error:", style="bold"))
        out.print(text(task.last_error, "red", multiline=True))


def task_table(task: Task) -> Table:
    table = Table(show_header=False, show_edge=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in task_dict(task).items():
        if name == "last_error":
            continue
        if name == "status":
            cell = status_text(value)
        elif name in ("payload", "result", "meta", "progress", "errors"):
            cell = text(json.dumps(value, ensure_ascii=False, default=str))
        else:
            cell = text(value)
        table.add_row(name, cell)
    return table


# -- cancel, cleanup, stats --------------------------------------------------------

@cli.command()
@click.argument("task_id", metavar="ID")
@url_option
def cancel(task_id: str, url: str | None) -> None:
    """Cancel a queued task (it never runs), interrupt a running one, or stop a recurring series.

    Exits with status 1 if the task or series is unknown or already finished.

    \b
    Example:
      tasker cancel 01a203fe-73cd-711e-85ca-8c679aa0b330
    """
    with open_app(url) as app:
        if not app.cancel(task_id):
            task = app.get(task_id)
            if task is not None:
                raise UserError(f"cannot cancel {task_id}: {refusal('cancel', task.status)}")
            if any(s.id == task_id for s in app.schedules(include_cancelled=True)):
                raise UserError(f"cannot cancel series {task_id}: it is already cancelled")
            raise UserError(f"cannot cancel: no task or series with id {task_id!r}")
        task = app.get(task_id)
    if task is None:
        stdout().print(text(f"cancelled series {task_id}: no further runs"))
        return
    done = task.status is TaskStatus.CANCELLED
    stdout().print(text(f"{'cancelled' if done else 'cancellation requested for running task'} {task_id}"))


@cli.command()
@click.argument("task_id", metavar="ID")
@url_option
def retry(task_id: str, url: str | None) -> None:
    """Queue a failed or cancelled task again, with one more attempt.

    Exits with status 1 if the task is unknown, not finished badly, or its
    unique key is now held by another live task.

    \b
    Example:
      tasker list --status failed
      tasker retry 01a203fe-73cd-711e-85ca-8c679aa0b330
    """
    with open_app(url) as app:
        if not app.retry(task_id):
            task = app.get(task_id)
            if task is None:
                raise UserError(f"cannot retry: no task with id {task_id!r}")
            if task.status.finished:
                raise UserError(f"cannot retry {task_id}: another live task holds its unique key")
            raise UserError(f"cannot retry {task_id}: {refusal('retry', task.status)}")
    stdout().print(text(f"queued {task_id} again"))


@cli.command()
@click.option("--older-than", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Only tasks finished more than SECONDS ago (default: every finished task).")
@url_option
def cleanup(older_than: float | None, url: str | None) -> None:
    """Delete finished tasks (succeeded, failed, cancelled); never queued or running ones.

    \b
    Example:
      tasker cleanup --older-than 604800     # finished more than a week ago
    """
    with open_app(url) as app:
        deleted = app.cleanup(older_than)
    stdout().print(text(f"deleted {deleted} finished task(s)"))


@cli.command()
@json_option
@url_option
def stats(as_json: bool, url: str | None) -> None:
    """Task counts by status, overall and per queue.

    \b
    Example:
      tasker stats --json
    """
    with open_app(url) as app:
        counts = app.stats()
    if as_json:
        echo_json(counts)
        return
    out = stdout()
    out.print(stats_table(counts))
    unhandled = counts.get("unhandled_types") or {}
    if unhandled:
        listed = ", ".join(f"{visible(type_)} ({n})" for type_, n in unhandled.items())
        out.print(text(f"warning: queued types that no live worker handles: {listed}", "yellow"))


def stats_table(counts: dict[str, Any]) -> Table:
    table = Table(show_edge=False, header_style="bold")
    table.add_column("QUEUE", overflow="fold")
    for status in STATUSES:
        table.add_column(status.upper(), justify="right", header_style=f"bold {STATUS_STYLES[status]}")
    table.add_column("TOTAL", justify="right")
    for queue, by_status in sorted(counts.get("by_queue", {}).items()):
        row = [by_status.get(s, 0) for s in STATUSES]
        table.add_row(text(queue), *(text(n) for n in row), text(sum(row)))
    overall = counts.get("by_status", counts)
    row = [overall.get(s, 0) for s in STATUSES]
    table.add_row(Text("all", style="bold"), *(text(n) for n in row), text(counts.get("total", sum(row))), end_section=True)
    return table


# -- worker ------------------------------------------------------------------------

def parse_queues(values: tuple[str, ...], concurrency: int) -> list[str] | dict[str, int] | None:
    """``emails`` -> list; any ``emails:5`` -> {name: limit}, unlimited names get ``concurrency``."""
    if not values:
        return None
    pairs = [split_queue(v) for v in values]
    if all(limit is None for _, limit in pairs):
        return [name for name, _ in pairs]
    return {name: concurrency if limit is None else limit for name, limit in pairs}


def split_queue(value: str) -> tuple[str, int | None]:
    name, sep, limit = value.rpartition(":")
    if not sep:
        return value, None
    if not name or not limit.isdigit() or int(limit) < 1:
        raise click.BadParameter(f"{value!r}: use NAME or NAME:LIMIT with LIMIT a positive integer", param_hint="'--queue'")
    return name, int(limit)


def load_app(target: str) -> Tasker:
    """Import ``MODULE:ATTR`` from the current directory and check it is a Tasker."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise click.BadParameter(f"{target!r}: expected MODULE:ATTR, e.g. myapp.tasks:app", param_hint="'MODULE:ATTR'")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise UserError(f"cannot import {module_name!r}: no module named {exc.name!r} (looked in {os.getcwd()} and sys.path)") from None
        raise
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not isinstance(obj, Tasker):
        raise UserError(f"{target} is not a tasker.Tasker instance (it is a {type(obj).__name__})")
    return obj


def warn_if_other_store(app: Tasker, url: str) -> None:
    wanted = describe_store(parse_url(url))
    actual = describe_store(app.config)
    if wanted != actual:
        stderr().print(text(f"warning: --url is {wanted} but the app was built for {actual}; the worker uses the app's store"), style="yellow")


def exit_despite_stuck_threads(grace: float = 1.0) -> None:
    """Leave now if handler threads outlived the worker.

    Worker handler threads are non-daemon (ThreadPoolExecutor's), so the
    interpreter would join them at exit: a sync handler stuck in a blocking
    call could then keep the process alive forever after the grace period,
    with its task already handed back. Outcomes are recorded and the store is
    closed by now, so skipping interpreter teardown loses nothing.
    """
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    for thread in others:
        thread.join(timeout=grace / max(len(others), 1))
    stuck = [t.name for t in others if t.is_alive()]
    if stuck:
        logging.getLogger("tasker.cli").warning("exiting with %d thread(s) still running: %s", len(stuck), ", ".join(stuck))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@cli.command()
@click.argument("app_path", metavar="MODULE:ATTR")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=10, show_default=True, help="Tasks run at once.")
@click.option("--queue", "-q", "queues", multiple=True, metavar="NAME[:LIMIT]", help="Queue to serve, optionally with its own limit (repeatable; default: all).")
@click.option("--lease", type=click.FloatRange(min=0, min_open=True), metavar="S", help="Seconds of silence before this worker is presumed dead.")
@click.option("--grace-period", type=click.FloatRange(min=0), metavar="S", help="On SIGTERM, seconds running tasks may take to finish (default 30).")
@click.option("--poll-interval", type=click.FloatRange(min=0, min_open=True), metavar="S", help="Seconds between polls for due tasks.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False), default="INFO", show_default=True)
@click.option("--log-format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="json: one JSON object a line, with task id, type, attempt, duration, status and trace id.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), metavar="PORT",
              help="Serve this worker's own Prometheus /metrics on this port (counters and histograms of its attempts).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, metavar="ADDR", help="Address for --metrics-port.")
@url_option
def worker(app_path: str, concurrency: int, queues: tuple[str, ...], log_level: str, log_format: str, url: str | None,
           **options: Any) -> None:
    """Run a worker for the Tasker app MODULE:ATTR until SIGINT/SIGTERM.

    The current directory is importable. A first signal stops taking tasks and
    waits up to --grace-period for running ones; a second stops at once.

    \b
    Example:
      tasker worker myapp.tasks:app --concurrency 20 --queue emails:5 --queue reports
    """
    configure_logging(log_level, log_format)
    url, explicit = store_url(url)
    if explicit and url is not None:
        parse_url(url)  # a bad URL is reported as such, not as a failure inside the import
        # Set before the import so that apps built as `Tasker()` use this store.
        os.environ["TASKER_URL"] = url
    queue_spec = parse_queues(queues, concurrency)
    app = load_app(app_path)
    if explicit and url is not None:
        warn_if_other_store(app, url)
    options = {k: v for k, v in options.items() if v is not None}
    try:
        app.run_worker(concurrency=concurrency, queues=queue_spec, **options)
    except RuntimeError as exc:  # e.g. an app with no handlers registered
        raise UserError(str(exc)) from None
    app.close()
    exit_despite_stuck_threads()


# -- schedules ---------------------------------------------------------------------

@cli.command()
@click.option("--all", "include_cancelled", is_flag=True, help="Include cancelled series.")
@json_option
@url_option
def schedules(include_cancelled: bool, as_json: bool, url: str | None) -> None:
    """Recurring series with their timing and next run time.

    \b
    Example:
      tasker schedules
      tasker cancel SERIES_ID          # stops every future run
    """
    with open_app(url) as app:
        series = app.schedules(include_cancelled=include_cancelled)
    if as_json:
        echo_json([dataclasses.asdict(s) for s in series])
        return
    table = Table(title="recurring series")
    for column in ("ID", "NAME", "TYPE", "EVERY", "MODE", "NEXT RUN (UTC)", "LAST FIRE (UTC)", "STATUS"):
        table.add_column(column)
    for s in series:
        every = f"cron {s.cron} ({s.timezone})" if s.cron else f"{s.every:g}s"
        table.add_row(text(s.id), text(s.name), text(s.type), text(every), text(s.mode),
                      text(when(s.next_run_at)), text(when(s.last_fire_at)), status_text(s.status))
    stdout().print(table if series else text("no recurring series"))


# -- demo --------------------------------------------------------------------------

@cli.command()
@url_option
def demo(url: str | None) -> None:
    """Enqueue a realistic mix of demo tasks, run them here, show the outcomes.

    Demo task types start with "demo." and run on their own queue, so your
    other tasks are neither run nor deleted.

    \b
    Example:
      tasker demo                      # into ./tasker.db
      tasker demo --url sqlite:///demo.db
    """
    from .demo import run_demo

    if not run_demo(store_url(url)[0], stdout()):
        raise UserError("the demo tasks did not all finish in time")


# -- dashboard ---------------------------------------------------------------------

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--token", envvar="TASKER_DASHBOARD_TOKEN", metavar="T",
              help="Required from every client (API: Authorization: Bearer T; browsers sign in with it) "
                   "[env: TASKER_DASHBOARD_TOKEN, preferred: arguments show in `ps`]. Without one only loopback clients are served.")
@click.option("--app", "app_path", metavar="MODULE:ATTR", help="Serve this Tasker app, so /api/tasks/cron passes run its handlers.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False), default="info", show_default=True)
@url_option
def dashboard(host: str, port: int, token: str | None, app_path: str | None, log_level: str, url: str | None) -> None:
    """Serve the web dashboard, JSON API (/api), cron endpoints and /metrics.

    Listening beyond loopback with no token makes one up and prints it. The cron
    endpoints take TASKER_CRON_SECRET from the environment; unset, they refuse every call.

    \b
    Example:
      tasker dashboard --url postgresql://app@127.0.0.1/app --port 8080
      TASKER_DASHBOARD_TOKEN=... tasker dashboard --host 0.0.0.0 --app myapp.tasks:app
    """
    import secrets

    import uvicorn

    from .web import create_app

    url, explicit = store_url(url)
    if app_path:
        if explicit and url is not None:
            os.environ["TASKER_URL"] = url
        app = load_app(app_path)
    else:
        app = Tasker(url)
    app.stats()  # fail now, with a clear message, if the store is unreachable or not migrated
    out = stderr()
    if not token and host not in LOOPBACK_HOSTS:
        token = secrets.token_urlsafe(24)
        out.print(text(f"no --token given while listening on {host}: generated one for this run: {token}"), style="yellow")
    shown = f"[{host}]" if ":" in host else host
    out.print(text(f"Tasker dashboard for {describe_store(app.config)} on http://{shown}:{port}/"
                   + (" (sign in with the token)" if token else " (loopback clients only)")))
    try:
        uvicorn.run(create_app(app, token=token or None), host=host, port=port, log_level=log_level.lower())
    finally:
        app.close()
