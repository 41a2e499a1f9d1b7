"""Reading a Tasker URL: which store, where, and which PostgreSQL schema."""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_SQLITE_FILE = "tasker.db"
DEFAULT_SCHEMA = "tasker"
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Secrets inside any text: the password of scheme://user:password@host, and password=... parameters.
USERINFO_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):[^@\s]*@")
PASSWORD_PARAMETER = re.compile(r"(?i)(?P<head>\b(?:ssl)?password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^&\s]*)")
# sqlite:///:memory: is one database per Tasker, shared by all its connections (one per event loop).
MEMORY_PREFIX = "file:tasker-memory-"
DRIVER_SUFFIXES = ("+psycopg", "+psycopg2", "+psycopg_async", "+asyncpg")   # SQLAlchemy's spelling of a URL
DEFAULT_POOL_SIZE = 4   # connections one event loop's pool may open at most (the sync pool too)
MAX_POOL_SIZE = 100


def redact(text: str) -> str:
    """``text`` with every password it holds masked, in URLs and ``password=`` parameters alike.

    >>> redact("postgresql://app:s3cret@db/app?sslpassword=x")
    'postgresql://app:***@db/app?sslpassword=***'
    """
    text = USERINFO_PASSWORD.sub(lambda m: m.group("head") + ":***@", text)
    return PASSWORD_PARAMETER.sub(lambda m: m.group("head") + "***", text)


@dataclass(frozen=True)
class StoreConfig:
    kind: str                 # "postgresql" or "sqlite"
    target: str               # libpq conninfo URL, or a SQLite file path
    schema: str = DEFAULT_SCHEMA
    listen: bool = True       # PostgreSQL LISTEN/NOTIFY wake-ups (off behind PgBouncer in transaction mode)
    listen_target: str | None = None   # LISTEN on this direct URL instead (the rest goes through a pooler)
    pool_size: int = DEFAULT_POOL_SIZE

    @property
    def pooled(self) -> bool:
        """Whether ``target`` goes through a pooler in transaction mode (``listen=off`` or a
        separate ``listen_url``): then no session state and no server-side prepared statements."""
        return self.kind == "postgresql" and (not self.listen or self.listen_target is not None)

    @property
    def listens_on(self) -> str | None:
        """The URL of the LISTEN connection; None: no LISTEN (workers poll)."""
        if self.listen_target is not None:
            return self.listen_target
        return self.target if self.listen else None

    @property
    def display(self) -> str:
        """The URL to show anywhere: passwords masked."""
        if self.in_memory:
            return "sqlite:///:memory:"
        return f"sqlite:///{self.target}" if self.kind == "sqlite" else redact(self.target)

    @property
    def in_memory(self) -> bool:
        return self.kind == "sqlite" and (self.target == ":memory:" or self.target.startswith(MEMORY_PREFIX))

    def own_memory(self) -> "StoreConfig":
        """For ``sqlite:///:memory:``: a database of its own, shared by every connection that
        names it (one per event loop), instead of one per connection."""
        if self.target != ":memory:":
            return self
        return replace(self, target=f"{MEMORY_PREFIX}{uuid.uuid4().hex}?mode=memory&cache=shared")


def _check_schema(schema: str) -> str:
    if not SCHEMA_NAME.match(schema):
        raise ValueError(
            f"schema {schema!r} is not a valid name: use lowercase letters, digits and _ (at most 63)"
        )
    return schema


def _sqlite_path(url: str) -> str:
    """The file a ``sqlite:///...`` URL names. Only three slashes are accepted: ``sqlite://x.db``
    reads, to SQLAlchemy and most tools, as a host named x.db, so it is refused, not guessed at."""
    rest = url[len("sqlite:"):]
    if not rest.startswith("///"):
        named = rest.lstrip("/").split("?", 1)[0]
        if not named:
            raise ValueError(f"SQLite URL {url!r} names no file: use sqlite:///path/to/tasks.db")
        raise ValueError(
            f"SQLite URL {url!r} needs three slashes after 'sqlite:': use sqlite:///{named} for a path "
            f"relative to the current directory, or sqlite:////abs/path.db for an absolute path"
        )
    path = rest[3:].split("?", 1)[0]
    if not path:
        raise ValueError(f"SQLite URL {url!r} names no file: use sqlite:///path/to/tasks.db")
    return path if path == ":memory:" else os.path.abspath(path)


def parse_url(url: str | None, schema: str | None = None, listen_url: str | None = None) -> StoreConfig:
    """``None`` reads ``TASKER_URL``, else the embedded default ``sqlite:///tasker.db``.

    PostgreSQL URLs may carry Tasker's own query parameters, removed before
    the URL reaches libpq: ``schema=NAME``, ``listen=off`` (workers poll; for a
    pooler in transaction mode), ``listen_url=URL`` (percent-encoded: LISTEN on
    this direct connection, everything else through the pooler of the main URL)
    and ``pool_size=N`` (connections a process's pool may open, default 4).
    """
    url = url or os.environ.get("TASKER_URL") or f"sqlite:///{DEFAULT_SQLITE_FILE}"
    if not isinstance(url, str):
        raise TypeError(f"the Tasker URL must be a string, not {type(url).__name__}")
    url = url.strip()   # a stray space or newline from an environment file
    if url.startswith("sqlite:"):
        if listen_url is not None:
            raise ValueError("listen_url is for PostgreSQL: SQLite has no LISTEN")
        return StoreConfig("sqlite", _sqlite_path(url))
    url = _plain_postgres(url)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    url_schema = query.pop("schema", None)
    listen = query.pop("listen", "on").lower() not in ("off", "false", "0", "no")
    listen_url = listen_url or query.pop("listen_url", None) or None
    query.pop("listen_url", None)
    pool_size = _pool_size(query.pop("pool_size", None))
    target = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
    listen_target = None
    if listen_url is not None:
        if not listen:
            raise ValueError("listen=off and listen_url contradict each other: give one of them")
        listen_target = _listen_target(listen_url)
    chosen = schema or url_schema or os.environ.get("TASKER_SCHEMA") or DEFAULT_SCHEMA
    return StoreConfig("postgresql", target, _check_schema(chosen), listen, listen_target, pool_size)


def _plain_postgres(url: str) -> str:
    """``url`` as libpq spells it: SQLAlchemy's ``postgresql+psycopg://`` accepted, others refused."""
    scheme, sep, rest = url.partition("://")
    if scheme.endswith(DRIVER_SUFFIXES):   # postgresql+psycopg:// from a SQLAlchemy setting
        url = scheme.partition("+")[0] + sep + rest
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"unsupported Tasker URL {redact(url)!r}: use sqlite:///FILE or postgresql://...")
    return url


def _listen_target(listen_url: str) -> str:
    """The libpq URL of a ``listen_url``: Tasker's parameters make no sense there and are refused."""
    if not isinstance(listen_url, str):
        raise TypeError(f"listen_url must be a string, not {type(listen_url).__name__}")
    url = _plain_postgres(listen_url.strip())
    parts = urlsplit(url)
    ours = {"schema", "listen", "listen_url", "pool_size"} & {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    if ours:
        raise ValueError(f"listen_url {redact(url)!r} takes libpq parameters only, not {', '.join(sorted(ours))}")
    return urlunsplit(parts._replace(scheme="postgresql"))


def _pool_size(text: str | None) -> int:
    if text is None:
        return DEFAULT_POOL_SIZE
    if not text.isdigit() or not 1 <= int(text) <= MAX_POOL_SIZE:
        raise ValueError(f"pool_size must be a whole number from 1 to {MAX_POOL_SIZE}, got {text!r}")
    return int(text)
