"""What the commands print: tables for people, JSON for programs.

Everything printed that came from the database (types, payloads, errors) is
untrusted: it goes through ``Text`` (never rich markup) with control
characters made visible, so a hostile task cannot restyle or spoof the output.
JSON output is ``json.dumps`` of plain values: datetimes as ISO 8601 strings,
statuses as their names, one document per command (a list for list-like ones).
"""
from __future__ import annotations

import dataclasses
import json
import time
import unicodedata
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..jsonable import jsonable
from ..series import Schedule
from ..store.url import StoreConfig
from ..task import STATUSES, Task, TaskStatus, WorkerState

STATUS_STYLES = {"queued": "cyan", "running": "yellow", "succeeded": "green", "failed": "red", "cancelled": "magenta"}
# Unicode bidi controls can visually reorder a line ("Trojan Source"); show them escaped.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def stdout() -> Console:
    # Piped output gets a wide fixed width so ids and columns are never folded.
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200, soft_wrap=False)
    return console


def stderr() -> Console:
    # soft_wrap: one message stays one line, however narrow the terminal.
    return Console(stderr=True, highlight=False, soft_wrap=True)


def say(message: str, style: str = "") -> None:
    """One line for people on stdout (an outcome, not data)."""
    stdout().print(text(message, style))


def warn(message: str) -> None:
    stderr().print(text(f"warning: {message}", "yellow"))


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


def echo_json(value: Any) -> None:
    """The command's one JSON document on stdout."""
    click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False, default=str))


def record(value: Any) -> dict[str, Any]:
    """A record (task, series, worker) as JSON-ready fields."""
    return jsonable(dataclasses.asdict(value))


def fields_of(kind: type) -> str:
    """The JSON keys of a record type, for a command's help."""
    return ", ".join(field.name for field in dataclasses.fields(kind))


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


# -- tasks -----------------------------------------------------------------------------

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


def task_table(task: Task) -> Table:
    """Every field of one task but its last error (printed apart, over several lines)."""
    table = Table(show_header=False, show_edge=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in record(task).items():
        if name == "last_error":
            continue
        if name == "status":
            cell = status_text(value)
        elif name in ("payload", "result", "meta", "progress", "errors", "headers"):
            cell = text(json.dumps(value, ensure_ascii=False, default=str))
        else:
            cell = text(value)
        table.add_row(name, cell)
    return table


def print_task(task: Task) -> None:
    out = stdout()
    out.print(task_table(task))
    if task.last_error:
        out.print(Text("\nlast error:", style="bold"))
        out.print(text(task.last_error, "red", multiline=True))


# -- stats, series, workers ------------------------------------------------------------

def stats_table(counts: dict[str, Any]) -> Table:
    table = Table(show_edge=False, header_style="bold")
    table.add_column("QUEUE", overflow="fold")
    for status in STATUSES:
        table.add_column(status.upper(), justify="right", header_style=f"bold {STATUS_STYLES[status]}")
    table.add_column("TOTAL", justify="right")
    paused = set(counts.get("paused_queues") or ())
    for queue, by_status in sorted(counts.get("by_queue", {}).items()):
        row = [by_status.get(s, 0) for s in STATUSES]
        label = text(queue)
        if queue in paused:
            label.append(" (paused)", style="yellow")
        table.add_row(label, *(text(n) for n in row), text(sum(row)))
    overall = counts.get("by_status", counts)
    row = [overall.get(s, 0) for s in STATUSES]
    table.add_row(Text("all", style="bold"), *(text(n) for n in row), text(counts.get("total", sum(row))), end_section=True)
    return table


def flow_table(limits: list[dict[str, Any]]) -> Table:
    """Flow limits per queue and type: the limits, the tasks waiting on them, running and recent starts."""
    table = Table(title="flow limits", show_edge=False, header_style="bold")
    for column in ("SCOPE", "NAME", "CONCURRENCY", "RATE", "WAITING", "RUNNING", "RECENT STARTS"):
        table.add_column(column, justify="right" if column in ("WAITING", "RUNNING", "RECENT STARTS") else "left")
    for entry in limits:
        table.add_row(text(entry["scope"]), text(entry["name"]), text(entry["concurrency_limit"] or "-"),
                      text(entry["rate_limit"] or "-"), text(entry["waiting"]), text(entry["running"]), text(entry["recent_starts"]))
    return table


def schedules_table(series: list[Schedule]) -> Table | Text:
    if not series:
        return Text("no recurring series")
    table = Table(title="recurring series")
    for column in ("ID", "NAME", "TYPE", "EVERY", "MODE", "NEXT RUN (UTC)", "LAST FIRE (UTC)", "STATUS"):
        table.add_column(column)
    for s in series:
        every = f"cron {s.cron} ({s.timezone})" if s.cron else f"{s.every:g}s"
        table.add_row(text(s.id), text(s.name), text(s.type), text(every), text(s.mode),
                      text(when(s.next_run_at)), text(when(s.last_fire_at)), status_text(s.status))
    return table


def seconds_since(moment: datetime) -> float:
    return max(0.0, time.time() - moment.timestamp())


def worker_record(worker: WorkerState, lease: float) -> dict[str, Any]:
    """A worker's fields, and whether it beat within the lease (``alive``)."""
    age = seconds_since(worker.last_seen)
    return {**record(worker), "seen_seconds_ago": round(age, 3), "alive": age <= lease}


def workers_table(workers: list[WorkerState], lease: float) -> Table | Text:
    if not workers:
        return Text("no workers have registered (or all have stopped)")
    table = Table(show_edge=False, header_style="bold")
    for column in ("ID", "HOST", "PID", "QUEUES", "CONCURRENCY", "RUNNING", "STARTED (UTC)", "LAST SEEN", "TYPES"):
        table.add_column(column, justify="right" if column in ("PID", "CONCURRENCY", "RUNNING") else "left",
                         no_wrap=column == "ID", overflow="fold")
    for w in workers:
        age = seconds_since(w.last_seen)
        seen = text(f"{age:.0f}s ago", "" if age <= lease else "red")
        if age > lease:
            seen.append(" (silent)", style="red")
        table.add_row(text(w.id), text(w.hostname), text(w.pid), text(w.queues), text(w.concurrency), text(w.running),
                      text(when(w.started_at)), seen, text(", ".join(w.types)))
    return table
