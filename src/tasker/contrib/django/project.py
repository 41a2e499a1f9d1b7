"""The project's Tasker, made from Django's settings, and the connection tasks are written on."""
from __future__ import annotations

import threading
from typing import Any, Callable
from urllib.parse import quote

from django.conf import settings
from django.db import connections

from ...app import Tasker

SETTING_KEYS = ("URL", "SCHEMA", "CONCURRENCY", "QUEUES", "MAX_ATTEMPTS", "TIMEOUT", "TASK_MODULES", "LEASE")

_lock = threading.Lock()
_current: tuple[tuple[Any, ...], Tasker] | None = None
# Task types Django's backends validated in this process: registered on every Tasker made here.
_handlers: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {}


def options() -> dict[str, Any]:
    """``settings.TASKER``, checked: an unknown key is a typo that would otherwise be ignored."""
    given = getattr(settings, "TASKER", None) or {}
    if not isinstance(given, dict):
        raise TypeError(f"settings.TASKER must be a dict, not {type(given).__name__}")
    unknown = sorted(set(given) - set(SETTING_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) in settings.TASKER: {', '.join(unknown)}; use {', '.join(SETTING_KEYS)}")
    return given


def in_django_database() -> bool:
    """True when no ``URL`` is set and Django's default database is PostgreSQL: Tasker then
    keeps its tables there (schema ``tasker``)."""
    return not options().get("URL") and connections["default"].vendor == "postgresql"


def shares_database() -> bool:
    """True when Tasker lives in Django's database and Django talks to it with psycopg 3:
    tasks are then written on Django's own connection, in its transaction."""
    if not in_django_database():
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


def store_url() -> str | None:
    """``TASKER["URL"]``, else Django's default database when it is PostgreSQL, else None
    (Tasker's own default: ``TASKER_URL``, or ``tasker.db`` in the current directory)."""
    url = options().get("URL")
    if url:
        return str(url)
    if not in_django_database():
        return None
    db = connections["default"].settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{credentials}{quote(host, safe='[]:')}{port}/{quote(db.get('NAME') or '', safe='')}"


def tasker() -> Tasker:
    """The project's ``Tasker`` (``tasker.contrib.django.app``). Made on first use; one object
    for the life of the process, pointed at the store the settings name now (the test runner
    renames the database after the project imported it)."""
    global _current
    given = options()
    key = (store_url(), given.get("SCHEMA"), given.get("CONCURRENCY"), given.get("LEASE"))
    with _lock:
        if _current is not None and _current[0] == key:
            return _current[1]
        fresh = Tasker(key[0], schema=given.get("SCHEMA"), concurrency=int(given.get("CONCURRENCY") or 10),
                       lease=float(given.get("LEASE") or 30.0))
        if _current is None:
            app = fresh
            for name, (fn, handler_options) in _handlers.items():
                app.register(name, fn, **handler_options)
        else:
            app = _current[1]
            app.close()
            # Same object, new store: whoever imported ``app`` keeps its handlers and hooks.
            kept = {"handlers": app.handlers, "events": app.events, "_periodics": app._periodics}
            app.__dict__.update({**fresh.__dict__, **kept})
        _current = (key, app)
        return app


def register(name: str, fn: Callable[..., Any], **handler_options: Any) -> None:
    """Make ``name`` runnable by this process's workers, now and on any Tasker made later."""
    if name in _handlers:
        return
    _handlers[name] = (fn, handler_options)
    with _lock:
        if _current is not None:
            _current[1].register(name, fn, **handler_options)


def shared_connection() -> Any:
    """Django's own psycopg connection when Tasker shares its database (the task is then
    written in Django's current transaction), else None."""
    if not shares_database():
        return None
    connection = connections["default"]
    connection.ensure_connection()
    return connection.connection


def close() -> None:
    """Close the project's Tasker's connections (it opens new ones if used again)."""
    with _lock:
        if _current is not None:
            _current[1].close()
