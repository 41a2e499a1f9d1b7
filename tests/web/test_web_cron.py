"""The cron endpoints: one process_queue pass, cleanup, and every way a call is refused."""
from __future__ import annotations

import pytest
from webtools import TOKEN

SECRET = "cron-s3cret-9d1e7b"
ENDPOINTS = ["/api/tasks/cron", "/api/tasks/cleanup"]
REFUSED_HEADERS = [
    {},
    {"Authorization": "Bearer wrong-secret"},
    {"Authorization": "Bearer undefined"},
    {"Authorization": "Bearer None"},
    {"Authorization": "Bearer null"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer"},
    {"Authorization": SECRET},
    {"Authorization": f"Basic {SECRET}"},
    {"Authorization": f"Bearer {SECRET}x"},
    {"Authorization": f"Bearer {SECRET[:-1]}"},
]


@pytest.fixture
def handled(app):
    @app.handler("ok")
    def ok(payload):
        return payload

    @app.handler("boom", max_attempts=1)
    def boom(payload):
        raise RuntimeError("boom")

    return app


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cron_runs_one_pass(make_client, handled, method):
    ids = [handled.create("ok", {"n": n}) for n in range(3)] + [handled.create("boom")]
    handled.create("nohandler")
    client = make_client(cron_secret=SECRET)
    response = client.request(method, "/api/tasks/cron", headers={"Authorization": f"Bearer {SECRET}"})
    assert response.status_code == 200
    assert response.json() == {"claimed": 4, "succeeded": 3, "failed": 1, "retried": 0, "cancelled": 0, "requeued": 0}
    assert [handled.get(i).status.value for i in ids] == ["succeeded"] * 3 + ["failed"]
    assert handled.list(type="nohandler")[0].status.value == "queued"


def test_cron_batch_size(make_client, handled):
    for n in range(5):
        handled.create("ok", n)
    client = make_client(cron_secret=SECRET)
    auth = {"Authorization": f"Bearer {SECRET}"}
    assert client.post("/api/tasks/cron?batch_size=2", headers=auth).json()["claimed"] == 2
    assert client.post("/api/tasks/cron?batch_size=0", headers=auth).status_code == 422


def test_cleanup(make_client, handled):
    done = handled.create("ok")
    handled.process_queue()
    waiting = handled.create("ok", delay=3600)
    client = make_client(cron_secret=SECRET)
    auth = {"Authorization": f"Bearer {SECRET}"}
    assert client.get("/api/tasks/cleanup?older_than=3600", headers=auth).json() == {"deleted": 0}
    assert client.get("/api/tasks/cleanup?older_than=-1", headers=auth).status_code == 422
    assert client.get("/api/tasks/cleanup?older_than=abc", headers=auth).status_code == 422
    assert client.post("/api/tasks/cleanup", headers=auth).json() == {"deleted": 1}
    assert handled.get(done) is None and handled.get(waiting) is not None


@pytest.mark.parametrize("headers", REFUSED_HEADERS, ids=lambda h: repr(h.get("Authorization", "missing")))
@pytest.mark.parametrize("path", ENDPOINTS)
def test_wrong_or_missing_secret_is_refused(make_client, handled, path, headers):
    task_id = handled.create("ok")
    client = make_client(cron_secret=SECRET)
    for method in ("GET", "POST"):
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert handled.get(task_id).status.value == "queued"


@pytest.mark.parametrize("configured", [None, "", "   ", "undefined", "null", "None"])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_unset_or_placeholder_secret_refuses_every_call(make_client, handled, monkeypatch, path, configured):
    monkeypatch.delenv("TASKER_CRON_SECRET", raising=False)
    task_id = handled.create("ok")
    handled.process_queue()
    client = make_client(cron_secret=configured)
    tries = [*REFUSED_HEADERS, {"Authorization": f"Bearer {configured}"}, {"Authorization": f"Bearer {SECRET}"}]
    for headers in tries:
        assert client.post(path, headers=headers).status_code == 401, headers
    assert handled.get(task_id) is not None


def test_secret_from_the_environment(make_client, handled, monkeypatch):
    monkeypatch.setenv("TASKER_CRON_SECRET", SECRET)
    client = make_client()
    assert client.get("/api/tasks/cron", headers={"Authorization": f"Bearer {SECRET}"}).status_code == 200
    assert client.get("/api/tasks/cron", headers={"Authorization": "Bearer undefined"}).status_code == 401
    monkeypatch.setenv("TASKER_CRON_SECRET", "")
    assert make_client().get("/api/tasks/cron", headers={"Authorization": "Bearer "}).status_code == 401


def test_dashboard_credentials_do_not_open_the_cron_endpoints(make_client, handled):
    client = make_client(token=TOKEN, cron_secret=SECRET)
    assert client.get("/api/tasks/cron", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
    # ...nor does loopback: a cron call always carries the secret.
    assert make_client(cron_secret=SECRET).get("/api/tasks/cron").status_code == 401


def test_remote_cron_call_with_the_secret_works(make_client, handled):
    client = make_client(remote=True, cron_secret=SECRET)
    assert client.post("/api/tasks/cron", headers={"Authorization": f"bearer  {SECRET} "}).status_code == 200
