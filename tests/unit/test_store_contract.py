"""The store seam is a checked contract: both stores implement every operation of
``store.base.Store`` with its exact signature, and name their statements alike."""
from __future__ import annotations

import inspect
from importlib import resources

import pytest

from tasker.store.base import Store
from tasker.store.postgres.driver import PostgresStore
from tasker.store.sqlite.driver import SqliteStore
from tasker.task import ACTIONS, TaskStatus, allows, refusal

STORES = [PostgresStore, SqliteStore]
# Statements only one store needs, and why (everything else exists in both, under one name).
ONLY = {
    "postgres": {
        "complete_succeeded": "a lean statement for the common outcome (SQLite writes row by row anyway)",
        "insert_tasks": "many rows in one statement from arrays (SQLite: executemany of insert_task)",
        "insert_tasks_copy": "COPY for big batches",
        "listen": "LISTEN/NOTIFY wake-ups",
        "notify_cancel": "LISTEN/NOTIFY", "notify_queue": "LISTEN/NOTIFY", "notify_wakeup": "LISTEN/NOTIFY",
        "lock_migrations": "an advisory lock (SQLite: BEGIN IMMEDIATE)",
        "drop_schema": "DROP SCHEMA (SQLite drops its tables one by one)",
        "now": "the server's clock (SQLite uses this process's)",
        "prune_minutes": "per-minute finish counts for the activity chart (SQLite reads its history: one process's worth)",
        "lock_flow": "an advisory lock around a limited claim (SQLite: BEGIN IMMEDIATE)",
    },
    "sqlite": {
        "any_due": "a read before the claim, so an idle poll takes no write lock",
        "record_flow_starts": "a limited claim's rate-limit starts (PostgreSQL: in the claim statement)",
        "mark_has_dependents": "PostgreSQL does it inside link_dependencies (a data-modifying CTE)",
        "running_claims": "PostgreSQL returns them from heartbeat (a data-modifying CTE)",
        "tally_attempt": "PostgreSQL tallies inside complete_tasks and rescue_tasks (data-modifying CTEs)",
    },
}


def operations() -> list[str]:
    return sorted(name for name, value in vars(Store).items() if callable(value) and not name.startswith("_"))


def test_the_protocol_lists_every_operation_the_code_calls():
    called = {"listen", "check_schema", "migrate_to", "insert_tasks_blocking", "save_progress", "materialize_schedules"}
    assert called <= set(operations())
    assert {"timings", "migrates_itself"} <= set(Store.__annotations__)


@pytest.mark.parametrize("store", STORES, ids=lambda s: s.__name__)
@pytest.mark.parametrize("name", operations())
def test_each_store_implements_each_operation_with_its_signature(store, name):
    implemented = getattr(store, name, None)
    assert implemented is not None, f"{store.__name__} lacks {name}"
    assert inspect.iscoroutinefunction(implemented) == inspect.iscoroutinefunction(getattr(Store, name)), name
    expected = inspect.signature(getattr(Store, name))
    actual = inspect.signature(implemented)
    assert list(actual.parameters) == list(expected.parameters), f"{store.__name__}.{name}{actual} != {expected}"
    assert hasattr(store, "migrates_itself") and isinstance(store.migrates_itself, bool)


def _queries(kind: str) -> set[str]:
    folder = resources.files(f"tasker.store.{kind}").joinpath("queries")
    return {item.name[:-4] for item in folder.iterdir() if item.name.endswith(".sql")}


def test_both_stores_name_the_same_statement_alike():
    postgres, sqlite = _queries("postgres"), _queries("sqlite")
    assert postgres - sqlite == set(ONLY["postgres"]), "a statement only PostgreSQL has: name it like SQLite's, or list why"
    assert sqlite - postgres == set(ONLY["sqlite"]), "a statement only SQLite has: name it like PostgreSQL's, or list why"


def test_task_rules_are_one_table():
    assert ACTIONS["cancel"] == {TaskStatus.QUEUED, TaskStatus.RUNNING}
    assert TaskStatus.RUNNING not in ACTIONS["delete"] and len(ACTIONS["delete"]) == 4
    assert refusal("retry", TaskStatus.QUEUED) == "it is queued, not failed or cancelled"
    assert refusal("cancel", TaskStatus.CANCELLED) == "it is already cancelled, not queued or running"
    assert refusal("delete", TaskStatus.RUNNING) == "it is running: a running task cannot be deleted"


def test_the_stores_statements_read_the_task_rules():
    """cancel_task.sql & co. say ``status IN {can_cancel}``: the table above, not a copy of it."""
    for kind, store in (("postgres", "tasker.store.postgres"), ("sqlite", "tasker.store.sqlite")):
        folder = resources.files(store).joinpath("queries")
        for action, statement in (("cancel", "cancel_task"), ("retry", "retry_task"), ("run_now", "run_task_now"), ("delete", "delete_task"),
                                  ("cancel", "cancel_tasks"), ("retry", "retry_tasks"), ("run_now", "run_tasks_now"), ("delete", "delete_tasks"),
                                  *((action, "_applies") for action in ACTIONS)):
            text = folder.joinpath(f"{statement}.sql").read_text()
            assert f"{{can_{action}}}" in text, f"{kind}/{statement}.sql should read the rule {{can_{action}}}"


def test_a_fragment_fills_its_placeholder_and_is_no_statement():
    from tasker.store.sqlfiles import load_queries

    for package in ("tasker.store.postgres", "tasker.store.sqlite"):
        queries = load_queries(package, {"schema": '"s"', "channel": "'c'", "wakeup_channel_ident": '"w"', "cancel_channel_ident": '"c"'})
        assert not any(name.startswith("_") for name in queries)
        assert all("{" + part + "}" not in text for text in queries.values() for part in ("task_filter", "applies", "task_columns"))
        assert "t.status IN ('failed', 'cancelled')" in queries["pick_tasks"], "the rules reach a statement through its fragment"


def test_allows_matches_the_table_and_a_requested_cancel():
    from datetime import datetime, timezone

    from tasker.task import Task

    now = datetime.now(timezone.utc)
    task = Task("id", "t", None, TaskStatus.RUNNING, 1, 3, 0, "default", now, now)
    assert allows("cancel", task) and not allows("delete", task) and not allows("retry", task)
    flagged = Task("id", "t", None, TaskStatus.RUNNING, 1, 3, 0, "default", now, now, cancel_requested=True)
    assert not allows("cancel", flagged), "a cancellation already asked for is not offered again"
