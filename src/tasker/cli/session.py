"""The Tasker a command works on: from ``--url`` (or TASKER_URL), or the user's app (``--app``)."""
from __future__ import annotations

import importlib
import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator

import click

from ..app import Tasker
from ..errors import StoreUnavailableError
from ..store.url import StoreConfig, parse_url
from .failures import UserError
from .options import store_url
from .output import describe_store, warn


def store_config(url: str | None) -> StoreConfig:
    """The store a URL names; a URL that names none is a usage error (exit 2)."""
    try:
        return parse_url(url)
    except (ValueError, TypeError) as exc:
        raise click.BadParameter(str(exc), param_hint="'--url' (or TASKER_URL)") from None


def require_database(config: StoreConfig) -> None:
    """Refuse a SQLite file that does not exist, rather than create an empty one to read from."""
    if config.kind == "sqlite" and not config.in_memory and not os.path.exists(config.target):
        raise StoreUnavailableError(
            f"no SQLite database at {config.target} (nothing was created): check --url or TASKER_URL, "
            f"or create it with `tasker migrate --url {config.display}`"
        )


@contextmanager
def open_app(url: str | None, *, create: bool = False) -> Iterator[Tasker]:
    """The Tasker for this command's store, closed afterwards. Only commands that store
    something new (``create``) may start a SQLite database; the others need an existing one."""
    chosen = store_url(url)[0]
    config = store_config(chosen)
    if not create:
        require_database(config)
    # Closing explicitly releases connections before the interpreter tears down threads.
    with Tasker(chosen) as app:
        yield app


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


def app_from(target: str, url: str | None) -> Tasker:
    """The user's app ``MODULE:ATTR``, imported with ``--url`` as TASKER_URL, so that an app
    built as ``Tasker()`` uses it; warns when the app names another store."""
    url, explicit = store_url(url)
    if explicit and url is not None:
        store_config(url)  # a bad URL is reported as such, not as a failure inside the import
        os.environ["TASKER_URL"] = url
    app = load_app(target)
    if explicit and url is not None:
        wanted, actual = describe_store(parse_url(url)), describe_store(app.config)
        if wanted != actual:
            warn(f"--url is {wanted} but the app was built for {actual}; the command uses the app's store")
    return app
