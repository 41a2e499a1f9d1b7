"""The ``tasker`` group: its options, its help (with the exit codes) and the entry point."""
from __future__ import annotations

import click

from .failures import EXIT_CODES, TaskerCommand
from .options import DEFAULT_URL_HELP


class TaskerGroup(click.Group):
    """The commands, each a ``TaskerCommand``; the exit codes at the end of ``tasker --help``."""

    command_class = TaskerCommand

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Exit codes"):
            formatter.write_dl([(str(int(code)), meaning) for code, meaning in EXIT_CODES.items()])
        super().format_epilog(ctx, formatter)


@click.group(cls=TaskerGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tasker-queue", prog_name="tasker")
@click.option("--url", envvar="TASKER_URL", default=None, metavar="URL", help=DEFAULT_URL_HELP)
def cli(url: str | None) -> None:
    """Tasker: durable background tasks on PostgreSQL or embedded SQLite.

    Every command takes --url (or TASKER_URL) and --json (one JSON document on
    stdout, keys listed in its help; errors stay on stderr). Durations read
    seconds or units: 90, 7d, 12h, 30m, 1h30m.

    \b
    Example:
      tasker migrate --url postgresql://app@127.0.0.1/app
      tasker enqueue send_email '{"to": "ada@example.com"}' --delay 10m
      tasker worker myapp.tasks:app --concurrency 20
      tasker demo
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tasker`` script and ``python -m tasker``."""
    cli.main(args=argv, prog_name="tasker")
