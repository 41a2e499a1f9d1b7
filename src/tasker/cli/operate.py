"""Commands on the system: migrate, stats, workers, schedules, pause, resume."""
from __future__ import annotations

import click

from .. import checks
from ..series import Schedule
from ..task import WorkerState
from .main import cli
from .options import json_option, url_option
from .output import (
    describe_store,
    echo_json,
    fields_of,
    flow_table,
    record,
    say,
    schedules_table,
    stats_table,
    stdout,
    text,
    visible,
    worker_record,
    workers_table,
)
from .session import open_app


@cli.command()
@json_option(
    'prints {"store", "applied"}: the store (password masked) and the migration versions applied now '
    '(empty when already up to date).'
)
@url_option
def migrate(as_json: bool, url: str | None) -> None:
    """Create or upgrade the database schema (idempotent).

    \b
    Example:
      tasker migrate --url 'postgresql://app@127.0.0.1:5432/app?schema=jobs'
    """
    with open_app(url, create=True) as app:
        applied = app.migrate()
        where = describe_store(app.config)
    if as_json:
        echo_json({"store": where, "applied": applied})
    elif applied:
        say(f"applied migration(s) {', '.join(map(str, applied))} to {where}")
    else:
        say(f"already up to date: {where}")


@cli.command()
@json_option(
    'prints {"queued", "running", "succeeded", "failed", "cancelled", "total", "by_status": {status: n}, '
    '"by_queue": {queue: {status: n}}, "paused_queues": [...], "unhandled_types": {type: n}} (queued '
    'types no live worker handles), "flow_limits": [{scope, name, concurrency_limit, rate_limit, waiting, '
    'running, recent_starts, rate_per_second}].'
)
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
    if counts.get("flow_limits"):
        out.print(flow_table(counts["flow_limits"]))
    if counts.get("paused_queues"):
        out.print(text(f"paused queues: {', '.join(counts['paused_queues'])} (`tasker resume QUEUE` lets workers take them again)", "yellow"))
    unhandled = counts.get("unhandled_types") or {}
    if unhandled:
        listed = ", ".join(f"{visible(type_)} ({n})" for type_, n in unhandled.items())
        out.print(text(f"warning: queued types that no live worker handles: {listed}", "yellow"))


@cli.command()
@json_option(f"prints an array of workers: {fields_of(WorkerState)}, seen_seconds_ago, alive.")
@url_option
def workers(as_json: bool, url: str | None) -> None:
    """Worker processes: host, pid, queues, running tasks and their last heartbeat.

    A worker silent for longer than the lease (30s unless the app sets another)
    is presumed dead; its running tasks are rescued by the others.

    \b
    Example:
      tasker workers --json
    """
    with open_app(url) as app:
        found = app.workers()
        lease = app.lease
    if as_json:
        echo_json([worker_record(w, lease) for w in found])
    else:
        stdout().print(workers_table(found, lease))


@cli.command()
@click.option("--all", "include_cancelled", is_flag=True, help="Include cancelled series.")
@json_option(f"prints an array of series: {fields_of(Schedule)}; every in seconds (null for cron).")
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
        echo_json([record(s) for s in series])
    else:
        stdout().print(schedules_table(series))


def set_paused(queues: tuple[str, ...], paused: bool, url: str | None) -> list[str]:
    """Pause or resume every named queue (all checked first: none changes if one is bad); the paused queues after."""
    for queue in queues:
        checks.name(queue, "queue")
    with open_app(url) as app:
        for queue in queues:
            (app.pause_queue if paused else app.resume_queue)(queue)
        return app.paused_queues()


def report_paused(changed: tuple[str, ...], paused_now: list[str], message: str, as_json: bool) -> None:
    if as_json:
        echo_json({"changed": list(changed), "paused_queues": paused_now})
        return
    say(message)
    say(f"paused now: {', '.join(paused_now) or 'none'}")


@cli.command()
@click.argument("queue", nargs=-1, required=True, metavar="QUEUE...")
@json_option('prints {"changed": [queues named], "paused_queues": [every paused queue]}.')
@url_option
def pause(queue: tuple[str, ...], as_json: bool, url: str | None) -> None:
    """Stop every worker from starting tasks of these queues; running ones finish.

    Tasks can still be enqueued; they wait until `tasker resume`.

    \b
    Example:
      tasker pause emails reports
    """
    paused_now = set_paused(queue, True, url)
    report_paused(queue, paused_now, f"paused {', '.join(queue)}: workers start none of their tasks until "
                                     f"`tasker resume {' '.join(queue)}`", as_json)


@cli.command()
@click.argument("queue", nargs=-1, required=True, metavar="QUEUE...")
@json_option('prints {"changed": [queues named], "paused_queues": [every paused queue]}.')
@url_option
def resume(queue: tuple[str, ...], as_json: bool, url: str | None) -> None:
    """Let workers take tasks of these queues again.

    \b
    Example:
      tasker resume emails
    """
    paused_now = set_paused(queue, False, url)
    report_paused(queue, paused_now, f"resumed {', '.join(queue)}", as_json)

