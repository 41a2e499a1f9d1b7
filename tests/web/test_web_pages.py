"""Dashboard pages and their actions: rendering, filters, POST-only CSRF-checked actions, escaping, headers."""
from __future__ import annotations

import re
import threading

import pytest
from polling import wait_until
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient
from webtools import LOCAL, csrf_token

from tasker.web import create_app

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>"]


@pytest.fixture
def populated(app):
    """One task in each status, a recurring series, a paused queue."""
    @app.handler("ok")
    def ok(payload, ctx):
        ctx.progress({"done": 3, "total": 4})
        return {"echo": payload}

    @app.handler("boom", max_attempts=2, retry_delay=0)
    def boom(payload):
        raise ValueError("bad input <b>")

    ids = {
        "succeeded": app.create("ok", {"n": 1}, meta={"tenant": "acme"}),
        "failed": app.create("boom", {"n": 2}),
        "cancelled": app.create("ok", {"n": 3}, queue="emails"),
        "queued": app.create("later", {"n": 4}, delay=3600, queue="emails"),
    }
    app.cancel(ids["cancelled"])
    app.process_queue()
    app.process_queue()
    app.schedule_every("*/5 * * * *", "sync", name="inventory-sync")
    app.pause_queue("reports")
    return ids


def test_every_page_renders(local, populated, app):
    overview = local.get("/")
    assert overview.status_code == 200 and overview.headers["content-type"].startswith("text/html")
    assert "<svg" in overview.text and "Throughput" in overview.text
    assert "reports" in overview.text and "paused" in overview.text
    for path in ("/tasks", "/schedules", "/schedules?all=1", "/workers"):
        assert local.get(path).status_code == 200, path
    assert "inventory-sync" in local.get("/schedules").text
    for status, task_id in populated.items():
        page = local.get(f"/tasks/{task_id}")
        assert page.status_code == 200 and f'class="badge {status}"' in page.text


def test_task_detail_shows_everything(local, populated, app):
    done = local.get(f"/tasks/{populated['succeeded']}").text
    assert "&#34;echo&#34;" in done and "&#34;tenant&#34;: &#34;acme&#34;" in done   # result and meta, escaped JSON
    assert "3 of 4" in done and "<svg class=\"progress\"" in done                       # progress bar
    for label in ("Created", "Due", "Started", "Finished"):
        assert f"<b>{label}</b>" in done
    failed = local.get(f"/tasks/{populated['failed']}").text
    assert "ValueError: bad input &lt;b&gt;" in failed and "Traceback (most recent call last)" in failed
    assert "Attempt 1" in failed and "Attempt 2" in failed, "each failed attempt's error"
    assert failed.index("Attempt 2") < failed.index("Attempt 1"), "newest first"
    assert "Retry" in failed and ">Cancel<" not in failed
    queued = local.get(f"/tasks/{populated['queued']}").text
    assert ">Run now<" in queued and ">Cancel<" in queued


def test_missing_task_is_404(local):
    assert local.get("/tasks/00000000-0000-7000-8000-000000000000").status_code == 404
    assert local.get("/tasks/<script>").status_code == 404


def test_filters_and_search(local, populated, app):
    def ids_on(path: str) -> set[str]:
        return set(re.findall(r'href="/tasks/([0-9a-f-]{36})"', local.get(path).text))

    assert ids_on("/tasks") == set(populated.values())
    assert ids_on("/tasks?status=failed") == {populated["failed"]}
    assert ids_on("/tasks?queue=emails") == {populated["cancelled"], populated["queued"]}
    assert ids_on("/tasks?type=boom") == {populated["failed"]}
    assert ids_on("/tasks?queue=emails&status=queued") == {populated["queued"]}
    assert ids_on(f"/tasks?q={populated['failed']}") == {populated["failed"]}
    assert ids_on(f"/tasks?q={populated['failed'].upper()}") == {populated["failed"]}
    assert ids_on(f"/tasks?q={populated['failed']}&status=queued") == set()
    assert ids_on("/tasks?q=BO") == {populated["failed"]}                 # type substring, any case
    assert ids_on("/tasks?q=late&queue=emails") == {populated["queued"]}
    assert "Unknown status" in local.get("/tasks?status=nonsense").text
    assert "filter ignored" in local.get("/tasks?type=a%00b&limit=7").text
    assert ids_on("/tasks?status=nonsense&limit=7") == set(populated.values())


def _post(client: TestClient, path: str, token: str, **extra: str):
    return client.post(path, data={"csrf_token": token, **extra})


def test_actions(local, populated, app):
    token = csrf_token(local, "/tasks")
    queued, failed = populated["queued"], populated["failed"]

    response = _post(local, f"/tasks/{queued}/run-now", token)
    assert response.status_code == 303 and response.headers["location"] == f"/tasks/{queued}?notice=run-now"
    assert "Task is due now." in local.get(response.headers["location"]).text

    assert _post(local, f"/tasks/{queued}/cancel", token).headers["location"].endswith("notice=cancelled")
    assert app.get(queued).status.value == "cancelled"
    assert _post(local, f"/tasks/{queued}/cancel", token).headers["location"].endswith("notice=not-cancelled")

    assert _post(local, f"/tasks/{failed}/retry", token).headers["location"].endswith("notice=retried")
    assert app.get(failed).status.value == "queued"

    assert _post(local, f"/tasks/{failed}/delete", token).headers["location"] == "/tasks?notice=deleted"
    assert app.get(failed) is None

    assert _post(local, "/queues/pause", token, queue="emails").headers["location"] == "/?notice=paused"
    assert "emails" in app.stats()["paused_queues"]
    assert _post(local, "/queues/resume", token, queue="emails").headers["location"] == "/?notice=resumed"
    assert "emails" not in app.stats()["paused_queues"]
    assert _post(local, "/queues/pause", token, queue="").headers["location"] == "/?notice=bad-queue"

    series_id = app.schedules()[0].id
    assert _post(local, f"/schedules/{series_id}/cancel", token).headers["location"] == "/schedules?notice=series-stopped"
    assert app.schedules() == []


def test_actions_without_a_valid_csrf_token_are_refused(local, populated, app):
    queued = populated["queued"]
    token = csrf_token(local, "/")
    attempts = [
        {},                                                      # no token
        {"csrf_token": ""},
        {"csrf_token": "forged.0000"},
        {"csrf_token": token + "x"},
    ]
    for data in attempts:
        response = local.post(f"/tasks/{queued}/cancel", data=data)
        assert response.status_code == 403 and "Reload the page" in response.text
    # The right token from a cross-site form (the browser says so) is refused too.
    cross = local.post(f"/tasks/{queued}/cancel", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    # A token without its cookie (another browser's) is refused.
    with TestClient(local.app, follow_redirects=False, **LOCAL) as fresh:
        assert fresh.post(f"/tasks/{queued}/cancel", data={"csrf_token": token}).status_code == 403
    for path, data in [("/queues/pause", {"queue": "default"}), (f"/schedules/{app.schedules()[0].id}/cancel", {})]:
        assert local.post(path, data=data).status_code == 403
    assert app.get(queued).status.value == "queued"
    assert app.stats()["paused_queues"] == ["reports"] and len(app.schedules()) == 1


def test_no_state_change_through_get(local, populated, app):
    task_id, series_id = populated["queued"], app.schedules()[0].id
    for path in [f"/tasks/{task_id}/cancel", f"/tasks/{task_id}/retry", f"/tasks/{task_id}/run-now", f"/tasks/{task_id}/delete",
                 f"/schedules/{series_id}/cancel", "/queues/pause?queue=default", "/queues/resume?queue=reports", "/logout"]:
        assert local.get(path).status_code == 405, path
    assert app.get(task_id).status.value == "queued" and len(app.schedules()) == 1
    assert app.stats()["paused_queues"] == ["reports"]


@pytest.fixture
def hostile(app):
    """Hostile strings in every field a page shows."""
    @app.handler(HOSTILE[0], max_attempts=1)
    def evil(payload):
        raise RuntimeError(HOSTILE[1] + " " + HOSTILE[2])

    for text in HOSTILE:
        app.create(HOSTILE[0], {"x": text, text: [text]}, queue=text, unique_key=text, meta={"m": text})
        app.schedule_every(60, text, {"s": text}, name=text, queue=text)
    app.create("bidi", {"x": "\u202eevil\u202c and \x1b[31mred"})
    app.process_queue()
    return app


def test_hostile_strings_are_escaped_everywhere(local, hostile):
    pages = ["/", "/tasks", f"/tasks?q={HOSTILE[0]}", "/schedules", "/workers"]
    pages += [f"/tasks/{t.id}" for t in hostile.list()]
    for path in pages:
        html = local.get(path).text
        for text in HOSTILE:
            assert text not in html, (path, text)
        assert "<img" not in html and "<svg onload" not in html and "<script>" not in html, path
        assert "\u202e" not in html and "\x1b" not in html, path
    detail = local.get(f"/tasks/{hostile.list(type=HOSTILE[0])[0].id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in detail
    assert "\\u202e" in local.get(f"/tasks/{hostile.list(type='bidi')[0].id}").text


def test_security_headers(local, make_client, populated):
    for path in ("/", "/tasks", "/api/stats", "/metrics", "/static/tasker.css"):
        headers = local.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
    assert local.get("/tasks").headers["cache-control"] == "no-store"
    set_cookie = make_client().get("/").headers["set-cookie"]
    assert "tasker_csrf=" in set_cookie and "HttpOnly" in set_cookie and "samesite=strict" in set_cookie.lower()


def test_no_inline_script_or_style(local, populated):
    for path in ["/", "/tasks", "/schedules", "/workers", f"/tasks/{populated['succeeded']}"]:
        html = local.get(path).text
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, path
        assert " style=" not in html and "<style" not in html, path
        assert re.search(r"\son[a-z]+=", html) is None, path


def test_workers_page_shows_heartbeats(local, app):
    @app.handler("noop")
    def noop(payload):
        return None

    thread = threading.Thread(target=app.run_worker, kwargs={"concurrency": 2, "heartbeat_interval": 0.2}, daemon=True)
    thread.start()
    try:
        worker = wait_until(lambda: app.workers(), timeout=15, message="a worker heartbeat")[0]
        html = local.get("/workers").text
        assert worker.hostname in html and str(worker.pid) in html
        assert 'class="badge alive"' in html
    finally:
        app.stop_workers(now=True)
        thread.join(timeout=15)


def test_mounted_under_a_prefix(app, populated):
    outer = Starlette(routes=[Mount("/ops/tasker", create_app(app))])
    with TestClient(outer, follow_redirects=False, **LOCAL) as client:
        page = client.get("/ops/tasker/tasks")
        assert page.status_code == 200
        assert 'href="/ops/tasker/static/tasker.css"' in page.text
        assert f'href="/ops/tasker/tasks/{populated["queued"]}"' in page.text
        assert client.get("/ops/tasker/static/tasker.js").status_code == 200
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        assert "Path=/ops/tasker" in page.headers["set-cookie"]
        moved = client.post(f"/ops/tasker/tasks/{populated['queued']}/run-now", data={"csrf_token": token})
        assert moved.headers["location"] == f"/ops/tasker/tasks/{populated['queued']}?notice=run-now"
        assert client.get("/ops/tasker/api/openapi.json").json()["servers"] == [{"url": "/ops/tasker"}]


def test_the_overview_warns_of_queued_types_no_live_worker_handles(local, app):
    app.create("nobody_handles_this", {"n": 1})
    page = local.get("/").text
    assert "Queued tasks that no live worker handles" in page and "nobody_handles_this" in page
    from tasker.cli import cli
    from click.testing import CliRunner

    shown = CliRunner().invoke(cli, ["stats", "--url", app.config.display if app.config.kind == "sqlite" else _url_of(app)])
    assert "queued types that no live worker handles: nobody_handles_this (1)" in shown.output


def _url_of(app) -> str:
    return f"{app.config.target}{'&' if '?' in app.config.target else '?'}schema={app.config.schema}"
