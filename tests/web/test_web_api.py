"""The JSON API under /api, authenticated with the bearer token, on both stores."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from webtools import BEARER, TOKEN

MISSING = "00000000-0000-7000-8000-000000000000"


@pytest.fixture
def api(make_client):
    """A remote client with the bearer token on every request."""
    client = make_client(remote=True, token=TOKEN)
    client.headers.update(BEARER)
    return client


def test_create_get_and_list(api, app):
    created = api.post("/api/tasks", json={"type": "sendWebhook", "payload": {"url": "https://example.com/h"},
                                           "queue": "hooks", "priority": 5, "max_attempts": 4, "delay": 60,
                                           "meta": {"tenant": "acme"}, "timeout": 30})
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["type"] == "sendWebhook" and task["status"] == "queued" and task["queue"] == "hooks"
    assert task["priority"] == 5 and task["max_attempts"] == 4 and task["meta"] == {"tenant": "acme"}
    assert created.headers["location"] == f"/api/tasks/{task['id']}"
    stored = app.get(task["id"])
    assert stored is not None and stored.payload == {"url": "https://example.com/h"} and stored.timeout == 30

    assert api.get(f"/api/tasks/{task['id']}").json()["id"] == task["id"]
    api.post("/api/tasks", json={"type": "resize", "queue": "media"})
    listed = api.get("/api/tasks", params={"queue": "hooks"}).json()
    assert listed["count"] == 1 and listed["tasks"][0]["id"] == task["id"]
    assert api.get("/api/tasks", params={"type": "resize"}).json()["count"] == 1
    assert api.get("/api/tasks", params={"status": "queued", "limit": 1}).json()["count"] == 1
    assert api.get("/api/tasks").json()["count"] == 2


def test_create_with_run_at_unique_key_and_dependencies(api, app):
    first = api.post("/api/tasks", json={"type": "a", "run_at": "2030-01-31T09:00:00Z", "unique_key": "k1"}).json()
    assert first["run_at"].startswith("2030-01-31T09:00:00")
    again = api.post("/api/tasks", json={"type": "a", "unique_key": "k1"})
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    child = api.post("/api/tasks", json={"type": "b", "depends_on": [first["id"]], "run_at": 1900000000})
    assert child.status_code == 201 and child.json()["pending_dependencies"] == 1


@pytest.mark.parametrize("body, field, words", [
    ({"type": ""}, "type", "must not be empty"),
    ({"type": "   "}, "type", "must not be empty"),
    ({}, "type", "required"),
    ({"type": 5}, "type", "must be a string"),
    ({"type": "x" * 256}, "type", "limit is 255"),
    ({"type": "a\nb"}, "type", "control characters"),
    ({"type": "t", "priority": "high"}, "priority", "integer"),
    ({"type": "t", "priority": True}, "priority", "integer"),
    ({"type": "t", "max_attempts": 0}, "max_attempts", "between 1"),
    ({"type": "t", "delay": -1}, "delay", ">= 0"),
    ({"type": "t", "timeout": 0}, "timeout", "> 0"),
    ({"type": "t", "run_at": "tomorrow"}, "run_at", "ISO 8601"),
    ({"type": "t", "run_at": 1e15}, "run_at", "<="),
    ({"type": "t", "run_at": 1, "delay": 1}, "run_at", "not both"),
    ({"type": "t", "queue": ""}, "queue", "must not be empty"),
    ({"type": "t", "meta": [1]}, "meta", "JSON object"),
    ({"type": "t", "depends_on": ["nope"]}, "depends_on", "task ids"),
    ({"type": "t", "payload": {"a": "\u0000"}}, "payload", "NUL"),
    ({"type": "t", "colour": "red"}, "colour", "unknown field"),
])
def test_invalid_create_is_422_naming_the_field(api, app, body, field, words):
    response = api.post("/api/tasks", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", field]
    assert words in detail[0]["msg"]
    assert app.list() == []


def test_invalid_bodies(api, app):
    assert api.post("/api/tasks", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    assert api.post("/api/tasks", json=[1, 2]).json()["detail"][0]["loc"] == ["body"]
    assert api.post("/api/tasks", content=b'{"type": "t", "payload": NaN}').status_code == 422
    big = api.post("/api/tasks", json={"type": "t", "payload": "x" * (app.max_payload_bytes + 1)})
    assert big.status_code == 422 and big.json()["detail"][0]["loc"] == ["body", "payload"]
    huge = api.post("/api/tasks", content=b"[" + b"1," * (app.max_payload_bytes * 2) + b"1]")
    assert huge.status_code == 413
    assert app.list() == []


def test_list_pages_with_a_cursor_and_filters_by_error_and_series(api, app):
    @app.handler(max_attempts=1)
    def flaky(payload):
        raise TimeoutError(f"read timed out ({payload})")

    ids = app.create_many("job", list(range(5)))
    broken = app.create("flaky", 1)
    app.process_queue()
    series = app.schedule_every(3600, "sync", name="hourly")
    run = app.run_schedule(series)
    first = api.get("/api/tasks", params={"type": "job", "limit": 2}).json()
    assert [t["id"] for t in first["tasks"]] == ids[::-1][:2] and first["next"] == ids[-2] and first["scan_limited"] is False
    second = api.get("/api/tasks", params={"type": "job", "limit": 2, "after": first["next"]}).json()
    assert [t["id"] for t in second["tasks"]] == ids[::-1][2:4]
    last = api.get("/api/tasks", params={"type": "job", "limit": 2, "after": second["next"]}).json()
    assert [t["id"] for t in last["tasks"]] == ids[:1] and last["next"] is None
    assert [t["id"] for t in api.get("/api/tasks", params={"error": "READ TIMED"}).json()["tasks"]] == [broken]
    assert [t["id"] for t in api.get("/api/tasks", params={"series_id": series}).json()["tasks"]] == [run]


def test_bulk_counts_with_dry_run_then_acts(api, app):
    ids = app.create_many("later", list(range(4)), delay=3600)
    other = app.create("other", delay=3600)
    counted = api.post("/api/tasks/bulk", json={"action": "cancel", "type": "later", "dry_run": True})
    assert counted.status_code == 200 and counted.json() == {"action": "cancel", "dry_run": True, "matching": 4, "at_least": False}
    assert app.count(status="queued") == 5
    done = api.post("/api/tasks/bulk", json={"action": "cancel", "type": "later", "ids": ids[:3], "status": None})
    assert done.json() == {"action": "cancel", "changed": 3, "more": False}
    assert [app.get(i).status.value for i in ids] == ["cancelled"] * 3 + ["queued"] and app.get(other).status.value == "queued"
    assert api.post("/api/tasks/bulk", json={"action": "retry", "type": "later"}).json()["changed"] == 3
    for body, field in [({}, "action"), ({"action": "explode"}, "action"), ({"action": "delete", "ids": "x"}, "ids"),
                        ({"action": "delete", "error": ""}, "error"), ({"action": "delete", "series_id": "x"}, "series_id"),
                        ({"action": "delete", "everything": True}, "everything"), ({"action": "delete", "dry_run": "yes"}, "dry_run")]:
        refused = api.post("/api/tasks/bulk", json=body)
        assert refused.status_code == 422, body
        assert ["body", field] in [d["loc"] for d in refused.json()["detail"]], (body, refused.json())
    assert app.count() == 5


def test_bulk_from_a_browser_session_needs_the_csrf_header(make_client, app):
    app.create("later", delay=3600)
    local = make_client()
    assert local.post("/api/tasks/bulk", json={"action": "delete"}).status_code == 403
    assert app.count() == 1


def test_invalid_list_filters_are_422(api):
    for params, field in [({"status": "done"}, "status"), ({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"),
                          ({"limit": "1001"}, "limit"), ({"type": "a\x00b"}, "type"), ({"queue": "q" * 300}, "queue"),
                          ({"error": "a\nb"}, "error"), ({"series_id": "nope"}, "series_id"), ({"after": "nope"}, "after")]:
        response = api.get("/api/tasks", params=params)
        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"] == ["query", field]


def test_cancel_retry_run_now_delete(api, app):
    task_id = app.create("later", delay=3600)
    assert api.post(f"/api/tasks/{task_id}/run-now").json() == {"id": task_id, "ok": True, "status": "queued"}
    assert app.get(task_id).run_at <= datetime.now(timezone.utc)
    cancelled = api.post(f"/api/tasks/{task_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert app.get(task_id).status.value == "cancelled"
    again = api.post(f"/api/tasks/{task_id}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    assert api.post(f"/api/tasks/{task_id}/run-now").status_code == 409
    retried = api.post(f"/api/tasks/{task_id}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    assert api.post(f"/api/tasks/{task_id}/retry").status_code == 409
    assert api.delete(f"/api/tasks/{task_id}").json() == {"id": task_id, "ok": True, "status": None}
    assert app.get(task_id) is None
    for verb in ("cancel", "retry", "run-now"):
        assert api.post(f"/api/tasks/{task_id}/{verb}").status_code == 404
    assert api.delete(f"/api/tasks/{task_id}").status_code == 404
    assert api.get(f"/api/tasks/{task_id}").status_code == 404
    assert api.get("/api/tasks/not-an-id").status_code == 404
    assert api.get(f"/api/tasks/{MISSING}").json() == {"detail": "no task with this id"}


def test_cancel_a_series(api, app):
    series_id = app.schedule_every(3600, "hourly")
    response = api.post(f"/api/tasks/{series_id}/cancel")
    assert response.json() == {"id": series_id, "ok": True, "status": "cancelled", "series": True}
    assert app.schedules() == []
    assert api.post(f"/api/tasks/{series_id}/cancel").status_code == 404


def test_stats_and_queues(api, app):
    app.create("a", queue="emails")
    app.create("b", queue="emails")
    stats = api.get("/api/stats").json()
    assert stats["queued"] == 2 and stats["total"] == 2 and stats["by_queue"]["emails"]["queued"] == 2
    assert api.post("/api/queues/pause", json={"queue": "emails"}).json() == {"queue": "emails", "paused": True}
    assert api.get("/api/stats").json()["paused_queues"] == ["emails"]
    assert api.post("/api/queues/resume", json={"queue": "emails"}).json() == {"queue": "emails", "paused": False}
    assert app.stats()["paused_queues"] == []
    bad = api.post("/api/queues/pause", json={"queue": "", "x": 1})
    assert bad.status_code == 422 and {tuple(d["loc"]) for d in bad.json()["detail"]} == {("body", "queue"), ("body", "x")}


def test_get_on_action_urls_is_405(api, app):
    task_id = app.create("t")
    for verb in ("cancel", "retry", "run-now"):
        assert api.get(f"/api/tasks/{task_id}/{verb}").status_code == 405
    assert api.get("/api/queues/pause").status_code == 405
    assert app.get(task_id).status.value == "queued"


def test_openapi_document_describes_the_api(api):
    doc = api.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/tasks", "/api/tasks/bulk", "/api/tasks/{task_id}", "/api/tasks/{task_id}/cancel", "/api/tasks/{task_id}/retry",
                 "/api/stats", "/api/tasks/cron", "/api/tasks/cleanup"):
        assert path in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
