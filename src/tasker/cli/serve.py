"""Commands that run something: worker, dashboard, demo."""
from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from collections import Counter
from typing import Any

import click

from ..logs import FORMATS, configure_logging
from .failures import UserError
from .main import cli
from .options import Duration, json_option, url_option
from .output import describe_store, echo_json, record, stderr, stdout, text
from .session import app_from, open_app, require_database

# -- worker ----------------------------------------------------------------------------

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
@click.option("--lease", type=Duration(positive=True), help="Silence after which this worker is presumed dead (default 30s).")
@click.option("--grace-period", type=Duration(), help="On SIGTERM, how long running tasks may take to finish (default 30s).")
@click.option("--poll-interval", type=Duration(positive=True), help="Time between polls for due tasks.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False), default="INFO", show_default=True)
@click.option("--log-format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="json: one JSON object a line on stderr (as --json).")
@json_option(
    'logs one JSON object per line on stderr: time, level, logger, message, and for attempts task_id, '
    'task_type, queue, attempt, duration, status, next_run_at (retries), trace_id (W3C trace context), '
    'exception (final failures); lines your handlers log carry the task fields too.'
)
@click.option("--metrics-port", type=click.IntRange(0, 65535), metavar="PORT",
              help="Serve this worker's own Prometheus /metrics on this port (counters and histograms of its attempts).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, metavar="ADDR", help="Address for --metrics-port.")
@url_option
def worker(app_path: str, concurrency: int, queues: tuple[str, ...], log_level: str, log_format: str, as_json: bool,
           url: str | None, **options: Any) -> None:
    """Run a worker for the Tasker app MODULE:ATTR until SIGINT/SIGTERM.

    The current directory is importable. A first signal stops taking tasks and
    waits up to --grace-period for running ones; a second stops at once.

    \b
    Example:
      tasker worker myapp.tasks:app --concurrency 20 --queue emails:5 --queue reports
    """
    configure_logging(log_level, "json" if as_json else log_format)
    queue_spec = parse_queues(queues, concurrency)
    app = app_from(app_path, url)
    options = {k: v for k, v in options.items() if v is not None}
    try:
        app.run_worker(concurrency=concurrency, queues=queue_spec, **options)
    except RuntimeError as exc:  # e.g. an app with no handlers registered
        raise UserError(str(exc)) from None
    app.close()
    exit_despite_stuck_threads()


# -- dashboard -------------------------------------------------------------------------

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--token", envvar="TASKER_DASHBOARD_TOKEN", metavar="T",
              help="Required from every client (API: Authorization: Bearer T; browsers sign in with it) "
                   "[env: TASKER_DASHBOARD_TOKEN, preferred: arguments show in `ps`]. Without one only loopback clients are served.")
@click.option("--app", "app_path", metavar="MODULE:ATTR", help="Serve this Tasker app, so /api/tasks/cron passes run its handlers.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False), default="info", show_default=True)
@json_option("logs one JSON object per line on stderr (time, level, logger, message), the server's own lines included.")
@url_option
def dashboard(host: str, port: int, token: str | None, app_path: str | None, log_level: str, as_json: bool, url: str | None) -> None:
    """Serve the web dashboard, JSON API (/api), cron endpoints and /metrics.

    Listening beyond loopback with no token makes one up and prints it. The cron
    endpoints take TASKER_CRON_SECRET from the environment; unset, they refuse every call.
    The store must exist already (`tasker migrate` makes one).

    \b
    Example:
      tasker dashboard --url postgresql://app@127.0.0.1/app --port 8080
      TASKER_DASHBOARD_TOKEN=... tasker dashboard --host 0.0.0.0 --app myapp.tasks:app
    """
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from ..web import create_app

    if as_json:
        configure_logging(log_level, "json")
    with app_from(app_path, url) if app_path else open_app(url) as app:
        require_database(app.config)
        app.stats()  # fail now, with a clear message, if the store is unreachable or not migrated
        if not token and host not in LOOPBACK_HOSTS:
            token = secrets.token_urlsafe(24)
            announce(f"no --token given while listening on {host}: generated one for this run: {token}", as_json, warning=True)
        shown = f"[{host}]" if ":" in host else host
        announce(f"Tasker dashboard for {describe_store(app.config)} on http://{shown}:{port}/"
                 + (" (sign in with the token)" if token else " (loopback clients only)"), as_json)
        # log_config=None: uvicorn's own records then go to the JSON lines configured above.
        uvicorn.run(create_app(app, token=token or None), host=host, port=port, log_level=log_level.lower(),
                    log_config=None if as_json else LOGGING_CONFIG)


def announce(message: str, as_json: bool, warning: bool = False) -> None:
    """A line for the operator on stderr: a log record in JSON mode."""
    if as_json:
        logging.getLogger("tasker.dashboard").log(logging.WARNING if warning else logging.INFO, message)
    else:
        stderr().print(text(message), style="yellow" if warning else "")


# -- demo ------------------------------------------------------------------------------

@cli.command()
@json_option(
    'prints {"store", "finished", "counts": {status: n}, "tasks": [tasks as `tasker show --json`], '
    '"next": [commands to look further]} instead of the live view.'
)
@url_option
def demo(as_json: bool, url: str | None) -> None:
    """Enqueue a realistic mix of demo tasks, run them here, show the outcomes.

    Demo task types start with "demo." and run on their own queue, so your
    other tasks are neither run nor deleted. It ends saying how to look at the
    results (the dashboard, `tasker list`).

    \b
    Example:
      tasker demo                      # into ./tasker.db
      tasker demo --url sqlite:///demo.db
    """
    from ..demo import next_steps, outcome_table, run_demo, steps_table

    with open_app(url, create=True) as app:
        tasks = run_demo(app, stdout(), live=not as_json)
        steps = next_steps(app.config)
    finished = all(t.status.finished for t in tasks)
    if as_json:
        counts = Counter(t.status.value for t in tasks)
        echo_json({"store": describe_store(app.config), "finished": finished, "counts": counts,
                   "tasks": [record(t) for t in tasks], "next": [command for _, command, _ in steps]})
    else:
        out = stdout()
        out.print(outcome_table(tasks))
        out.print()
        out.print(text(f"Look further (the demo's tasks are in {describe_store(app.config)}):", "bold"))
        out.print(steps_table(steps))
    if not finished:
        raise UserError("the demo tasks did not all finish in time")
