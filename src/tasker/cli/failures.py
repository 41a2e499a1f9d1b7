"""How a command fails: one exit code per kind of failure, one line on stderr, no traceback.

The convention (also in ``tasker --help`` and the README):

    0  done
    1  the operation failed or was refused: an unknown id, a task not in a state for it,
       a task that failed (``result``), a confirmation declined, the demo not finishing
    2  usage: an unknown command or option, a value refused (a bad duration, JSON, URL
       or task option); nothing was stored
    3  the store cannot be used: unreachable, a SQLite file that does not exist (commands
       that only read or change existing tasks never create one), schema missing or too new
"""
from __future__ import annotations

import enum
import sqlite3
from typing import Any

import click

from ..errors import InputError, SchemaMissingError, SchemaTooNewError, StoreUnavailableError, TaskerError
from ..store.url import redact
from .output import stderr, text, visible


class Exit(enum.IntEnum):
    """The exit codes of every ``tasker`` command."""

    OK = 0
    FAILED = 1
    USAGE = 2          # click's own code for usage errors
    UNAVAILABLE = 3


EXIT_CODES = {
    Exit.OK: "done",
    Exit.FAILED: "the operation failed or was refused (unknown id, wrong state, task failed, declined)",
    Exit.USAGE: "usage: bad command, option or value (nothing was stored)",
    Exit.UNAVAILABLE: "the store cannot be used: unreachable, SQLite file missing, schema missing or too new",
}


class UserError(click.ClickException):
    """An error the user can act on: ``error: ...`` on stderr, exit 1, no traceback."""

    exit_code = Exit.FAILED

    def show(self, file: Any = None) -> None:
        stderr().print(text(f"error: {redact(self.message)}", multiline=True))


class StoreUnavailable(UserError):
    """The store cannot be reached or used: exit 3."""

    exit_code = Exit.UNAVAILABLE


def _psycopg(name: str) -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return ()
    return (getattr(psycopg, name),)


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that say the store itself cannot be used (exit 3)."""
    return (StoreUnavailableError, SchemaMissingError, SchemaTooNewError, sqlite3.OperationalError, *_psycopg("OperationalError"))


def operation_errors() -> tuple[type[BaseException], ...]:
    """The API's other user-facing exceptions (exit 1)."""
    return (TaskerError, ValueError, TypeError, LookupError, NotImplementedError, OSError, sqlite3.Error, *_psycopg("Error"))


def refused_input(ctx: click.Context, exc: InputError) -> click.UsageError:
    """An input the core refused, as click's usage error on the option that gave it (exit 2)."""
    message = visible(redact(str(exc)))
    field = exc.field.split(".", 1)[0]
    param = next((p for p in ctx.command.params if p.name and p.name.rstrip("_") == field), None)
    return click.BadParameter(message, ctx=ctx, param=param) if param is not None else click.UsageError(message, ctx)


class TaskerCommand(click.Command):
    """Every command: the API's exceptions become the exit codes above."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise refused_input(ctx, exc) from None
        except unavailable_errors() as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from None
        except operation_errors() as exc:
            raise UserError(str(exc) or type(exc).__name__) from None
