"""The options and value types the commands share, each defined once."""
from __future__ import annotations

import inspect
import json
import sys
from datetime import datetime
from typing import Any, Callable, TypeVar

import click

from .. import checks
from ..errors import InputError
from ..limits import MAX_DELAY

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_URL_HELP = "Database URL [env: TASKER_URL; default: sqlite:///tasker.db in the current directory]."


class JsonParam(click.ParamType):
    """A JSON value; with ``stdin=True``, ``-`` reads it from standard input."""

    name = "JSON"

    def __init__(self, stdin: bool = False):
        self.reads_stdin = stdin

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        source = "standard input" if self.reads_stdin and value == "-" else None
        if source:
            value = sys.stdin.read()
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"not valid JSON{' on ' + source if source else ''} ({exc})", param, ctx)


class IsoDatetime(click.ParamType):
    name = "ISO8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date-time (e.g. 2030-01-31T09:00:00+00:00)", param, ctx)


class Duration(click.ParamType):
    """Seconds (``90``, ``1.5``) or amounts with units (``7d``, ``12h``, ``30m``, ``1h30m``),
    read by ``checks.duration``, the rule every entry point shares."""

    name = "DURATION"

    def __init__(self, high: float = MAX_DELAY, positive: bool = False):
        self.high = high
        self.positive = positive

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        field = param.name if param is not None and param.name else "duration"
        try:
            return checks.duration(value, field, self.high, self.positive)
        except InputError as exc:
            self.fail(str(exc), param, ctx)


def url_option(fn: F) -> F:
    # No envvar here: the group's --url reads TASKER_URL, and a command's own --url wins over both.
    return click.option("--url", default=None, metavar="URL", help=DEFAULT_URL_HELP)(fn)


def json_option(prints: str) -> Callable[[F], F]:
    """``--json``, with what it prints (``"prints {...}"``) added to the command's help before its
    example, so that no command offers JSON without saying what it holds."""

    def decorate(fn: F) -> F:
        doc = inspect.cleandoc(fn.__doc__ or "")
        body, example, rest = doc.partition("\b\nExample:")
        fn.__doc__ = f"{body.rstrip()}\n\n--json {prints}\n\n{example}{rest}"
        return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (see above).")(fn)

    return decorate


def store_url(url: str | None) -> tuple[str | None, bool]:
    """The URL to use, and whether it was given on the command line (vs. TASKER_URL or the default)."""
    if url is not None:
        return url, True
    root = click.get_current_context().find_root()
    explicit = root.get_parameter_source("url") is click.core.ParameterSource.COMMANDLINE
    return root.params.get("url"), explicit
