"""The application's own connection given as ``connection=``: a psycopg connection as it is,
or a SQLAlchemy ``Session``, ``Connection``, ``AsyncSession`` or ``AsyncConnection`` on the
psycopg driver, unwrapped to the psycopg connection under it. Its transaction (begun by the
session if none was) is the one the task is written in: commit keeps it, rollback removes it.
"""
from __future__ import annotations

from typing import Any


def _from_sqlalchemy(connection: Any) -> bool:
    return type(connection).__module__.startswith("sqlalchemy.")


def blocking(connection: Any) -> Any:
    """The psycopg connection for a sync ``create``."""
    if connection is None or not _from_sqlalchemy(connection):
        return connection
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
    from sqlalchemy.orm import Session, scoped_session

    if isinstance(connection, (AsyncSession, AsyncConnection)):
        raise TypeError(f"an {type(connection).__name__} belongs to its event loop: use `await app.acreate(..., connection=...)`")
    if isinstance(connection, (Session, scoped_session)):
        connection = connection.connection()
    if isinstance(connection, Connection):
        return _psycopg(connection.connection.driver_connection, connection)
    raise TypeError(f"connection= takes a psycopg connection or a SQLAlchemy Session, Connection, AsyncSession "
                    f"or AsyncConnection, not {type(connection).__name__}")


async def unwrap(connection: Any) -> Any:
    """The psycopg connection for an async ``acreate``."""
    if connection is None or not _from_sqlalchemy(connection):
        return connection
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_scoped_session

    if isinstance(connection, (AsyncSession, async_scoped_session)):
        connection = await connection.connection()
    if isinstance(connection, AsyncConnection):
        raw = await connection.get_raw_connection()
        return _psycopg(raw.driver_connection, connection)
    return blocking(connection)


def _psycopg(driver_connection: Any, given: Any) -> Any:
    import psycopg

    if isinstance(driver_connection, (psycopg.Connection, psycopg.AsyncConnection)):
        return driver_connection
    dialect = getattr(getattr(given, "dialect", None), "driver", None) or type(driver_connection).__module__
    raise TypeError(f"connection= needs SQLAlchemy on the psycopg (3) driver, postgresql+psycopg://; this one uses {dialect!r}")
