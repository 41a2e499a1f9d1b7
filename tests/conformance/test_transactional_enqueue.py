"""create(..., connection=conn): the task exists only if the application's transaction commits."""
from __future__ import annotations

import asyncio

import psycopg
import pytest

from tasker import Tasker, TaskStatus


@pytest.fixture
def pg_app(request, tmp_path):
    from stores import drop_schema, with_schema

    base = request.getfixturevalue("pg_url")
    schema = "t_tx_" + tmp_path.name[-10:].lower().replace("-", "_")
    app = Tasker(with_schema(base, schema))
    app.migrate()
    yield app
    app.close()
    drop_schema(base, schema)


def test_committed_transaction_keeps_the_task(pg_app):
    with psycopg.connect(pg_app.config.target) as conn:
        with conn.transaction():
            conn.execute("CREATE TEMP TABLE orders (id int)")
            task_id = pg_app.create("email", {"order": 1}, connection=conn)
            assert pg_app.get(task_id) is None, "invisible until the application commits"
    assert pg_app.get(task_id).status is TaskStatus.QUEUED


def test_rolled_back_transaction_leaves_no_task(pg_app):
    ran = []
    pg_app.register("email", lambda payload: ran.append(payload))
    with psycopg.connect(pg_app.config.target) as conn:
        task_id = pg_app.create("email", {"order": 2}, connection=conn, unique_key="order-2")
        ids = pg_app.create_many("email", [3, 4], connection=conn)
        conn.rollback()
    assert pg_app.get(task_id) is None and all(pg_app.get(i) is None for i in ids)
    pg_app.process_queue()
    assert ran == [] and pg_app.stats()["total"] == 0


def test_async_connection(pg_app):
    async def scenario():
        async with await psycopg.AsyncConnection.connect(pg_app.config.target) as conn:
            async with conn.transaction():
                kept = await pg_app.acreate("email", 1, connection=conn)
            dropped = await pg_app.acreate("email", 2, connection=conn)
            await conn.rollback()
        result = (await pg_app.aget(kept), await pg_app.aget(dropped))
        await pg_app.aclose()
        return result

    kept, dropped = asyncio.run(scenario())
    assert kept is not None and dropped is None


def test_dependencies_inside_the_application_transaction(pg_app):
    with psycopg.connect(pg_app.config.target) as conn:
        with conn.transaction():
            first = pg_app.create("step", 1, connection=conn)
            second = pg_app.create("step", 2, connection=conn, depends_on=[first])
    assert pg_app.get(second).pending_dependencies == 1


def test_wrong_connection_kinds(pg_app, tmp_path):
    async def async_conn():
        return await psycopg.AsyncConnection.connect(pg_app.config.target)

    conn = asyncio.run(async_conn())
    with pytest.raises(TypeError, match="use `await app.acreate"):
        pg_app.create("email", connection=conn)
    with pytest.raises(TypeError, match="connection must be a psycopg Connection"):
        pg_app.create("email", connection=object())
    sqlite_app = Tasker(f"sqlite:///{tmp_path / 'x.db'}")
    with psycopg.connect(pg_app.config.target) as sync_conn, pytest.raises(TypeError, match="needs the PostgreSQL store"):
        sqlite_app.create("email", connection=sync_conn)
    sqlite_app.close()
    assert pg_app.stats()["total"] == 0
