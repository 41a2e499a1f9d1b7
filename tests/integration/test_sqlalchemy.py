"""connection= with SQLAlchemy on psycopg: Session, Connection, AsyncSession, AsyncConnection.
The task is written in their transaction: commit keeps it, rollback removes it."""
from __future__ import annotations

import asyncio
import uuid

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from tasker import Tasker, TaskStatus  # noqa: E402


@pytest.fixture
def pg_app(pg_url):
    from stores import drop_schema, with_schema

    schema = f"t_sa_{uuid.uuid4().hex[:12]}"
    app = Tasker(with_schema(pg_url, schema))
    app.migrate()
    yield app
    app.close()
    drop_schema(pg_url, schema)


@pytest.fixture
def sa_url(pg_url) -> str:
    return pg_url.replace("postgresql://", "postgresql+psycopg://", 1).split("?")[0]


def test_session_commit_keeps_and_rollback_removes(pg_app, sa_url):
    engine = create_engine(sa_url)
    try:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))
            kept = pg_app.create("email", {"n": 1}, connection=session)
            assert pg_app.get(kept) is None, "invisible until the session commits"
            session.commit()
        with Session(engine) as session:
            dropped = pg_app.create_many("email", [2, 3], connection=session)
            session.rollback()
        assert pg_app.get(kept).status is TaskStatus.QUEUED
        assert all(pg_app.get(i) is None for i in dropped)
    finally:
        engine.dispose()


def test_connection_commit_keeps_and_rollback_removes(pg_app, sa_url):
    engine = create_engine(sa_url)
    try:
        with engine.begin() as conn:
            kept = pg_app.create("email", 1, connection=conn)
        with engine.connect() as conn:
            dropped = pg_app.create("email", 2, connection=conn)
            conn.rollback()
        assert pg_app.get(kept) is not None and pg_app.get(dropped) is None
    finally:
        engine.dispose()


def test_async_session_and_connection(pg_app, sa_url):
    async def scenario():
        engine = create_async_engine(sa_url)
        try:
            async with AsyncSession(engine) as session:
                kept = await pg_app.acreate("email", 1, connection=session)
                assert await pg_app.aget(kept) is None
                await session.commit()
            async with AsyncSession(engine) as session:
                dropped = await pg_app.acreate_many("email", [2, 3], connection=session)
                await session.rollback()
            async with engine.begin() as conn:
                also_kept = await pg_app.acreate("email", 4, connection=conn)
            async with engine.connect() as conn:
                also_dropped = await pg_app.acreate("email", 5, connection=conn)
                await conn.rollback()
            return kept, dropped, also_kept, also_dropped
        finally:
            await engine.dispose()

    kept, dropped, also_kept, also_dropped = asyncio.run(scenario())
    assert pg_app.get(kept) is not None and pg_app.get(also_kept) is not None
    assert all(pg_app.get(i) is None for i in [*dropped, also_dropped])


def test_wrong_driver_and_sync_use_of_an_async_session_are_refused(pg_app, sa_url, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with Session(engine) as session, pytest.raises(TypeError, match="psycopg"):
        pg_app.create("email", 1, connection=session)
    engine.dispose()

    async def scenario():
        async_engine = create_async_engine(sa_url)
        try:
            async with AsyncSession(async_engine) as session:
                with pytest.raises(TypeError, match="acreate"):
                    pg_app.create("email", 1, connection=session)
        finally:
            await async_engine.dispose()

    asyncio.run(scenario())
    assert pg_app.stats()["total"] == 0
