"""Hostile inputs, on both stores: times out of range and payloads too deep are refused at the
door with nothing stored; a stored value that cannot be read back fails its own task only,
and every listing still works."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from apps.harness import Db
from tasker import Tasker, TaskStatus
from tasker.cli import cli
from tasker.web import create_app


def deep(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


REFUSED_AT_THE_DOOR = [
    ("run_at", dict(run_at=datetime.max)),
    ("run_at", dict(run_at=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14))))),
    ("run_at", dict(run_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))))),
    ("run_at", dict(run_at=float("inf"))),
    ("retry_delay", dict(retry_delay=1e300)),
    ("retry_delay", dict(retry_delay=timedelta(days=10**6))),
    ("delay", dict(delay=1e300)),
    ("timeout", dict(timeout=1e300)),
    ("payload", dict(payload=deep(990))),
    ("payload", dict(payload=deep(100_000))),
    ("meta", dict(meta={"deep": deep(200)})),
    ("type", dict(type="t\ud800")),
    ("queue", dict(queue="q\ud800")),
    ("unique_key", dict(unique_key="k\udcff")),
]


@pytest.mark.parametrize("field, call", REFUSED_AT_THE_DOOR, ids=[f"{f}-{i}" for i, (f, _) in enumerate(REFUSED_AT_THE_DOOR)])
def test_out_of_range_and_too_deep_inputs_are_refused_naming_the_field(app: Tasker, field: str, call: dict):
    call = dict(call)
    type_, payload = call.pop("type", "t"), call.pop("payload", None)
    with pytest.raises((ValueError, TypeError)) as raised:
        app.create(type_, payload, **call)
    assert raised.value.field == field, raised.value
    with pytest.raises((ValueError, TypeError)):
        app.create_many(type_, [payload], **call)
    assert app.stats()["total"] == 0
    assert app.list() == []


def test_the_cli_refuses_a_run_at_past_year_9999(app: Tasker, store_url: str):
    result = CliRunner().invoke(cli, ["enqueue", "t", "{}", "--run-at", "9999-12-31T23:59:59.999999", "--url", store_url])
    assert result.exit_code == 2 and "run_at must fall between the years 1 and 9999" in result.stderr   # a usage error
    assert app.stats()["total"] == 0


def test_a_task_whose_stored_payload_cannot_be_read_fails_alone(app: Tasker, store_url: str):
    """A payload written behind Tasker's back (not JSON on SQLite; a 5,000-digit number in
    PostgreSQL's jsonb, which Python's json refuses to read) fails its task at once; the
    other tasks run, and every read path still works."""

    @app.handler()
    def work(payload):
        return payload

    bad, bad_meta = app.create("work", {"n": 0}), app.create("work", {"n": 1}, meta={"m": 1})
    good = [app.create("work", {"n": n}) for n in range(2, 7)]
    db = Db(store_url)
    if db.kind == "sqlite":
        db.rows("UPDATE tasks SET payload = '{not json' WHERE id = ?", (bad,))
        db.rows("UPDATE tasks SET meta = '[[[' WHERE id = ?", (bad_meta,))
    else:
        db.rows("UPDATE tasks SET payload = ('1' || repeat('0', 5000))::jsonb WHERE id = ?::uuid", (bad,))
        db.rows("UPDATE tasks SET meta = jsonb_build_object('n', ('1' || repeat('0', 5000))::numeric) WHERE id = ?::uuid", (bad_meta,))
    db.close()

    listed = {t.id: t for t in app.list()}   # readable before running...
    assert "unreadable stored JSON" in listed[bad].payload
    summary = app.process_queue()
    assert summary.succeeded == 5 and summary.failed == 2, summary
    for task_id, what in ((bad, "payload"), (bad_meta, "meta")):
        task = app.get(task_id)
        assert task.status is TaskStatus.FAILED and task.attempts == 1, task
        assert f"stored {what} cannot be read" in task.last_error
    assert all(app.get(i).status is TaskStatus.SUCCEEDED for i in good)
    with TestClient(create_app(app), base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as client:
        assert client.get("/api/tasks").status_code == 200
        assert client.get(f"/api/tasks/{bad}").status_code == 200
        assert client.get("/tasks").status_code == 200
        assert client.get(f"/tasks/{bad}").status_code == 200


def test_a_time_stored_out_of_range_reads_back(app: Tasker, store_url: str):
    task_id = app.create("t")
    db = Db(store_url)
    if db.kind == "sqlite":
        db.rows("UPDATE tasks SET run_at = 1e300, created_at = -1e300 WHERE id = ?", (task_id,))
    else:
        db.rows("UPDATE tasks SET run_at = 'infinity', created_at = '-infinity' WHERE id = ?::uuid", (task_id,))
    db.close()
    task = app.get(task_id)
    assert task.run_at.year == 9999 and task.created_at.year == 1
    assert [t.id for t in app.list()] == [task_id]
