"""The ``tasker`` command line: run workers, enqueue, inspect and control tasks.

``main`` builds the group (``main.py``); the commands live by subject in
``tasks.py`` (one task at a time, and cleanup), ``operate.py`` (the system as a
whole) and ``serve.py`` (commands that run: worker, dashboard, demo). Output,
options, failures and the store a command opens are shared, each in its module.
"""
from __future__ import annotations

from . import operate, serve, tasks
from .failures import EXIT_CODES, Exit
from .main import cli, main
from .serve import parse_queues

COMMANDS = sorted(cli.commands)

__all__ = ["COMMANDS", "EXIT_CODES", "Exit", "cli", "main", "operate", "parse_queues", "serve", "tasks"]
