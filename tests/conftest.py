"""Shared fixtures: one Tasker per test on each real store, isolated from every other test.

PostgreSQL tests get their own schema (dropped afterwards); SQLite tests their
own file. Nothing is mocked.
"""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import pg_server  # noqa: E402
from stores import drop_schema, with_schema  # noqa: E402

from tasker import Tasker  # noqa: E402

STORES = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def pg_url() -> str:
    return pg_server.ensure_postgres()


@pytest.fixture(params=STORES)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def store_url(request, store_kind: str, tmp_path: Path) -> str:
    """A fresh, empty store of each kind: a Tasker URL."""
    if store_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'tasks.db'}"
        return
    base = request.getfixturevalue("pg_url")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield with_schema(base, schema)
    drop_schema(base, schema)


@pytest.fixture
def app(store_url: str):
    """A migrated Tasker on a fresh store; short timings so rescue tests stay quick."""
    tasker = Tasker(store_url, lease=3.0)
    tasker.migrate()
    yield tasker
    tasker.close()


@pytest.fixture
def output_dir() -> Path:
    """Where tests leave artefacts (screenshots, logs) for people to look at."""
    path = Path(os.environ.get("TASKER_TEST_OUTPUT", Path(__file__).parent.parent / "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path
