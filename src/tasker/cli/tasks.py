"""Commands on tasks: enqueue, list, show, result, cancel, retry, run-now, delete, cleanup."""
from __future__ import annotations

import json
from typing import Any

import click

from ..app import Tasker
from ..errors import TaskCancelledError, TaskFailedError
from ..limits import MAX_LIST_LIMIT
from ..task import STATUSES, Task, TaskStatus, refusal
from ..tasks import Runner
from .failures import UserError
from .main import cli
from .options import Duration, IsoDatetime, JsonParam, json_option, url_option
from .output import echo_json, fields_of, print_task, record, say, stdout, tasks_table
from .session import app_from, open_app

FINISHED = tuple(s.value for s in TaskStatus if s.finished)


# -- enqueue ---------------------------------------------------------------------------

@cli.command()
@click.argument("type_", metavar="TYPE")
@click.argument("payload", metavar="[PAYLOAD_JSON | -]", required=False, type=JsonParam(stdin=True))
@click.option("--app", "app_path", metavar="MODULE:ATTR",
              help="Import this Tasker app: the task gets its handler's options (queue, max attempts, timeout, "
                   "priority) and its payload is checked as the handler declares it.")
@click.option("--delay", type=Duration(), help="Run after this long: 90, 30m, 12h, 7d, 1h30m.")
@click.option("--run-at", type=IsoDatetime(), help="Run at this ISO 8601 date-time (naive means UTC).")
@click.option("--queue", metavar="Q", help="Queue name (default: the handler's, or 'default').")
@click.option("--priority", type=int, metavar="P", help="Higher runs first (default: the handler's, or 0).")
@click.option("--max-attempts", type=int, metavar="N", help="Attempts before the task fails (default: the handler's, or 3).")
@click.option("--timeout", type=Duration(positive=True), help="Longest run of one attempt (default: the handler's, or 300s).")
@click.option("--unique-key", metavar="K", help="Skip if a queued or running task has this key (its id is printed).")
@click.option("--depends-on", "depends_on", multiple=True, metavar="ID", help="Run only after this task succeeded (repeatable).")
@click.option("--meta", type=JsonParam(), help="A JSON object stored with the task.")
@json_option('prints the stored task, as `tasker show --json` does.')
@url_option
def enqueue(type_: str, payload: Any, app_path: str | None, as_json: bool, url: str | None, **options: Any) -> None:
    """Store a task of type TYPE with an optional JSON payload ('-': read it from stdin); prints its id.

    With --app, the task is made as the app would make it: its handler's
    defaults apply and its payload is checked (a payload model's fields; a
    function task's call, given as {"args": [...], "kwargs": {...}}).

    \b
    Example:
      tasker enqueue send_email '{"to": "ada@example.com"}' --delay 10m --queue emails
      echo '{"image": 42}' | tasker enqueue resize - --app myapp.tasks:app
    """
    options = {k: v for k, v in options.items() if v not in (None, ())}
    if app_path:
        with app_from(app_path, url) as app:
            check_handled(app, app_path, type_, payload)
            task = create(app, type_, payload, options)
    else:
        with open_app(url, create=True) as app:
            task = create(app, type_, payload, options)
    if as_json:
        echo_json(record(task))
    else:
        click.echo(task.id)


def check_handled(app: Tasker, app_path: str, type_: str, payload: Any) -> None:
    """With --app, TYPE must be one of the app's, and a function task's payload a call that fits it."""
    handler = app.handlers.get(type_)
    if handler is None:
        known = sorted(app.handlers)
        listed = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
        raise click.BadParameter(f"{app_path} has no handler for task type {type_!r}; it has: {listed or 'none'}", param_hint="'TYPE'")
    if isinstance(handler.fn, Runner):
        try:
            handler.fn.task.signature.from_payload(payload)
        except TypeError as exc:
            raise click.BadParameter(str(exc), param_hint="'PAYLOAD_JSON'") from None


def create(app: Tasker, type_: str, payload: Any, options: dict[str, Any]) -> Task:
    task_id = app.create(type_, payload, **options)
    task = app.get(task_id)
    if task is None:  # deleted or cleaned up in between
        raise UserError(f"task {task_id} was stored but is gone already")
    return task


# -- list, show, result ----------------------------------------------------------------

@cli.command(name="list")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False), help="Only tasks with this status.")
@click.option("--type", "type_", metavar="T", help="Only tasks of this type.")
@click.option("--queue", metavar="Q", help="Only tasks in this queue.")
@click.option("--limit", type=click.IntRange(1, MAX_LIST_LIMIT), default=100, show_default=True, help="At most this many tasks.")
@json_option('prints an array of tasks, each with the keys of `tasker show --json`.')
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
        echo_json([record(t) for t in tasks])
        return
    out = stdout()
    out.print(tasks_table(tasks, out.width))


@cli.command()
@click.argument("task_id", metavar="ID")
@json_option(f"prints one object, the task's fields: {fields_of(Task)}; times in ISO 8601 (UTC) or null.")
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
        echo_json(record(task))
    else:
        print_task(task)


@cli.command()
@click.argument("task_id", metavar="ID")
@click.option("--wait", type=Duration(), default=0.0, metavar="DURATION",
              help="Wait up to this long for the task to finish (default: do not wait).")
@json_option('prints {"id", "status", "result", "last_error"}, also when it exits 1.')
@url_option
def result(task_id: str, wait: float, as_json: bool, url: str | None) -> None:
    """Print the result of a task that succeeded (text as it is, anything else as JSON).

    Exits with status 1 if the task failed or was cancelled (its error on
    stderr) or has not finished (after --wait).

    \b
    Example:
      tasker result 01a203fe-73cd-711e-85ca-8c679aa0b330 --wait 30s
    """
    with open_app(url) as app:
        task = finished_or_latest(app, task_id, wait)
    if as_json:
        echo_json({"id": task.id, "status": task.status, "result": task.result, "last_error": task.last_error})
    elif task.status is TaskStatus.SUCCEEDED:
        click.echo(task.result if isinstance(task.result, str) else json.dumps(task.result, ensure_ascii=False))
    if task.status is TaskStatus.SUCCEEDED:
        return
    if not task.status.finished:
        hint = "" if wait else " (--wait DURATION waits for it)"
        raise UserError(f"task {task_id} is still {task.status.value}{hint}")
    headline = (task.last_error or "").strip().split("\n", 1)[0]
    raise UserError(f"task {task_id} {task.status.value}" + (f": {headline}" if headline else ""))


def finished_or_latest(app: Tasker, task_id: str, wait: float) -> Task:
    """The task once finished, or as it is when ``wait`` seconds have passed."""
    task = app.get(task_id)
    if task is None:
        raise UserError(f"no task with id {task_id!r}")
    if task.status.finished or not wait:
        return task
    try:
        app.result(task_id, timeout=wait)
    except (TaskFailedError, TaskCancelledError, TimeoutError):
        pass  # reported from the task itself, read again below
    return app.get(task_id) or task


# -- cancel, retry, run-now, delete ----------------------------------------------------

ACTION_JSON = 'prints {"id", "kind": "task", "action", "status"}: the status after the action (null once deleted).'


def act(app: Tasker, action: str, task_id: str) -> Task | None:
    """Do ``action`` ("retry", "run_now", "delete") to a task; the task afterwards, or why not (exit 1)."""
    if getattr(app, action)(task_id):
        return app.get(task_id)
    task = app.get(task_id)
    words = action.replace("_", " ")
    if task is None:
        raise UserError(f"cannot {words}: no task with id {task_id!r}")
    if action == "retry" and task.status.finished and task.status is not TaskStatus.SUCCEEDED:
        raise UserError(f"cannot retry {task_id}: another live task holds its unique key")
    raise UserError(f"cannot {words} {task_id}: {refusal(action, task.status)}")


def report(task_id: str, kind: str, action: str, status: Any, message: str, as_json: bool) -> None:
    if as_json:
        echo_json({"id": task_id, "kind": kind, "action": action, "status": status})
    else:
        say(message)


@cli.command()
@click.argument("task_id", metavar="ID")
@json_option(
    'prints {"id", "kind": "task" or "series", "action", "status"}: the status after the action '
    '("running" while a running task is being interrupted).'
)
@url_option
def cancel(task_id: str, as_json: bool, url: str | None) -> None:
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
        report(task_id, "series", "cancel", "cancelled", f"cancelled series {task_id}: no further runs", as_json)
        return
    done = task.status is TaskStatus.CANCELLED
    report(task_id, "task", "cancel", task.status,
           f"{'cancelled' if done else 'cancellation requested for running task'} {task_id}", as_json)


@cli.command()
@click.argument("task_id", metavar="ID")
@json_option(ACTION_JSON)
@url_option
def retry(task_id: str, as_json: bool, url: str | None) -> None:
    """Queue a failed or cancelled task again, with one more attempt.

    Exits with status 1 if the task is unknown, not finished badly, or its
    unique key is now held by another live task.

    \b
    Example:
      tasker list --status failed
      tasker retry 01a203fe-73cd-711e-85ca-8c679aa0b330
    """
    with open_app(url) as app:
        task = act(app, "retry", task_id)
    report(task_id, "task", "retry", task and task.status, f"queued {task_id} again", as_json)


@cli.command(name="run-now")
@click.argument("task_id", metavar="ID")
@json_option(ACTION_JSON)
@url_option
def run_now(task_id: str, as_json: bool, url: str | None) -> None:
    """Make a queued task due now (a delayed one, or one waiting for its retry).

    Exits with status 1 if the task is unknown or not queued.

    \b
    Example:
      tasker run-now 01a203fe-73cd-711e-85ca-8c679aa0b330
    """
    with open_app(url) as app:
        task = act(app, "run_now", task_id)
    report(task_id, "task", "run_now", task and task.status, f"{task_id} is due now", as_json)


@cli.command()
@click.argument("task_id", metavar="ID")
@json_option(ACTION_JSON)
@url_option
def delete(task_id: str, as_json: bool, url: str | None) -> None:
    """Delete a task that is not running (a queued one then never runs).

    Exits with status 1 if the task is unknown or running (cancel it first).

    \b
    Example:
      tasker delete 01a203fe-73cd-711e-85ca-8c679aa0b330
    """
    with open_app(url) as app:
        act(app, "delete", task_id)
    report(task_id, "task", "delete", None, f"deleted {task_id}", as_json)


# -- cleanup ---------------------------------------------------------------------------

@cli.command()
@click.option("--older-than", type=Duration(), help="Only tasks that finished longer ago than this: 7d, 12h, 30m, 3600.")
@click.option("--status", type=click.Choice(FINISHED, case_sensitive=False), help="Only tasks that ended so.")
@click.option("--type", "type_", metavar="T", help="Only tasks of this type.")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Without --older-than, delete without asking.")
@json_option(
    'prints {"dry_run", "count", "older_than", "status", "type"}: count is what was deleted (or, with '
    '--dry-run, what would be).'
)
@url_option
def cleanup(older_than: float | None, status: str | None, type_: str | None, dry_run: bool, yes: bool,
            as_json: bool, url: str | None) -> None:
    """Delete finished tasks (succeeded, failed, cancelled); never queued or running ones.

    Without --older-than every finished task matches, so it asks first (the
    question goes to stderr; --yes skips it, and with no terminal to answer it
    nothing is deleted). Deletes in batches, so workers are never held up long.

    \b
    Example:
      tasker cleanup --older-than 7d
      tasker cleanup --status failed --type send_email --dry-run
    """
    filters: dict[str, Any] = {"older_than": older_than, "status": status and status.lower(), "type": type_}
    with open_app(url) as app:
        if dry_run:
            count = app.cleanup(**filters, dry_run=True)
        else:
            if older_than is None and not yes:
                confirm_sweeping_cleanup(app.cleanup(**filters, dry_run=True))
            count = app.cleanup(**filters)
    if as_json:
        echo_json({"dry_run": dry_run, "count": count, **filters})
    else:
        say(f"would delete {count} finished task(s) (dry run: nothing deleted)" if dry_run else f"deleted {count} finished task(s)")


def confirm_sweeping_cleanup(matched: int) -> None:
    """Ask before a cleanup with no age limit; no answer (no terminal) deletes nothing."""
    if not matched:
        return
    try:
        agreed = click.confirm(f"No --older-than given: delete all {matched} matching finished task(s)?", err=True)
    except click.Abort:
        agreed = False
    if not agreed:
        raise UserError("nothing was deleted (answer yes, or pass --yes or --older-than)")
