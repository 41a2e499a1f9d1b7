"""Migrations: idempotent, concurrent-safe, and step-by-step upgrades equal a fresh install."""
from __future__ import annotations

import asyncio
import sqlite3
import threading

import psycopg
import pytest

from tasker import SchemaMissingError, Tasker
from tasker.store import open_store, parse_url


def pg_catalog(url: str) -> dict:
    config = parse_url(url)
    schema = config.schema
    queries = {
        "columns": """SELECT table_name, column_name, data_type, column_default, is_nullable
                      FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, 2""",
        "indexes": "SELECT indexname, replace(indexdef, %s, 'S') FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
        "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(c.oid)
                          FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                          WHERE n.nspname = %s ORDER BY 2""",
        "triggers": """SELECT tgname, tgrelid::regclass::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT tgisinternal ORDER BY 1""",
        "functions": """SELECT proname, prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                        WHERE n.nspname = %s ORDER BY 1""",
    }
    with psycopg.connect(config.target, autocommit=True) as conn:
        result = {}
        for name, sql in queries.items():
            params = (f'"{schema}".', schema) if name == "indexes" else (schema,)
            rows = conn.execute(sql, params).fetchall()
            result[name] = [tuple(str(v).replace(schema, "S") for v in row) for row in rows]
        return result


def sqlite_catalog(url: str) -> dict:
    path = parse_url(url).target
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1")]
        return {
            "tables": {t: conn.execute(f'PRAGMA table_xinfo("{t}")').fetchall() for t in tables},
            "indexes": {
                r[0]: (r[1], " ".join(r[2].split()) if r[2] else None)
                for r in conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type='index' ORDER BY 1")
            },
            "triggers": sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")),
        }


def catalog(url: str, kind: str) -> dict:
    return sqlite_catalog(url) if kind == "sqlite" else pg_catalog(url)


async def _migrate_step_by_step(url: str) -> list[int]:
    store = open_store(parse_url(url))
    await store.open()
    try:
        versions = [m.version for m in store.migrations]
        for version in versions:
            await store.migrate_to(version)
            assert await store.schema_version() == version
        return versions
    finally:
        await store.close()


@pytest.fixture
def second_url(request, store_kind, tmp_path):
    """Another empty store of the same kind, to install fresh beside the upgraded one."""
    if store_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    from stores import drop_schema, with_schema

    base = request.getfixturevalue("pg_url")
    yield with_schema(base, "t_fresh_" + tmp_path.name[-8:].lower().replace("-", "_"))
    drop_schema(base, "t_fresh_" + tmp_path.name[-8:].lower().replace("-", "_"))


def test_step_by_step_equals_fresh_install(store_url, second_url, store_kind):
    versions = asyncio.run(_migrate_step_by_step(store_url))
    fresh = Tasker(second_url)
    assert fresh.migrate() == versions
    fresh.close()
    upgraded, installed = catalog(store_url, store_kind), catalog(second_url, store_kind)
    assert upgraded == installed


def test_migrate_is_idempotent(store_url):
    app = Tasker(store_url)
    assert app.migrate() != []
    assert app.migrate() == []
    app.create("x")
    assert app.migrate() == []
    assert app.stats()["total"] == 1
    app.close()


def test_concurrent_migrations_are_safe(store_url):
    errors, results = [], []

    def migrate():
        app = Tasker(store_url)
        try:
            results.append(app.migrate())
        except Exception as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)
        finally:
            app.close()

    threads = [threading.Thread(target=migrate) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(1 for r in results if r) == 1, "exactly one caller applied the migrations"


def test_postgres_without_schema_says_run_migrate(pg_url):
    from stores import with_schema

    app = Tasker(with_schema(pg_url, "t_never_migrated"))
    with pytest.raises(SchemaMissingError, match="run `tasker migrate`"):
        app.create("x")
    app.close()


def test_sqlite_migrates_itself_on_first_use(tmp_path):
    app = Tasker(f"sqlite:///{tmp_path / 'auto.db'}")
    task_id = app.create("x")
    assert app.get(task_id).type == "x"
    app.close()


def test_default_is_sqlite_file_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TASKER_URL", raising=False)
    app = Tasker()
    app.create("x")
    app.close()
    assert (tmp_path / "tasker.db").exists()
    monkeypatch.setenv("TASKER_URL", f"sqlite:///{tmp_path / 'env.db'}")
    app = Tasker()
    app.create("x")
    app.close()
    assert (tmp_path / "env.db").exists()


def test_the_history_before_the_tallies_is_counted_once(store_url, store_kind):
    """Finished tasks stored before migration 7 (6 on SQLite) seed the tallies, so stats and
    /metrics count them, and deleting them later never takes a count below zero; on PostgreSQL
    they seed the per-minute counts of the activity chart too (migration 9)."""
    from apps.harness import Db

    tallies = 7 if store_kind == "postgres" else 6

    async def up_to(version: int | None) -> None:
        store = open_store(parse_url(store_url))
        await store.open()
        try:
            await store.migrate_to(version)
        finally:
            await store.close()

    asyncio.run(up_to(tallies - 1))
    db = Db(store_url)
    now = "now()" if store_kind == "postgres" else "unixepoch()"
    for n, status in enumerate(["succeeded", "succeeded", "failed", "cancelled", "queued"]):
        db.rows(f"INSERT INTO tasks (id, type, status, queue, run_at, created_at, finished_at) "
                f"VALUES (?, 'old', ?, 'q', {now}, {now}, {now})", (f"00000000-0000-7000-8000-00000000000{n}", status))
    asyncio.run(up_to(None))
    app = Tasker(store_url)
    stats = app.stats()
    assert (stats["succeeded"], stats["failed"], stats["cancelled"], stats["queued"]) == (2, 1, 1, 1)
    assert {(t.status, t.count) for t in app.tallies()} == {("succeeded", 2), ("failed", 1), ("cancelled", 1)}
    charted: dict[str, int] = {}
    for _minute, status, count in app.activity(window=600)["throughput"]:
        charted[status] = charted.get(status, 0) + count
    assert charted == {"succeeded": 2, "failed": 1}, "the chart of finished tasks starts from the history too"
    assert app.cleanup() == 4
    assert app.stats()["total"] == 1
    assert sum(t.count for t in app.tallies()) == 4   # what finished stays counted
    app.close()
    db.close()
