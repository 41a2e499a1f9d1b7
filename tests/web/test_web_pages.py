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


def test_filters_and_the_id_box(local, populated, app):
    def ids_on(path: str) -> set[str]:
        return set(re.findall(r'href="/tasks/([0-9a-f-]{36})"', local.get(path).text))

    assert ids_on("/tasks") == set(populated.values())
    assert ids_on("/tasks?status=failed") == {populated["failed"]}
    assert ids_on("/tasks?queue=emails") == {populated["cancelled"], populated["queued"]}
    assert ids_on("/tasks?type=boom") == {populated["failed"]}
    assert ids_on("/tasks?queue=emails&status=queued") == {populated["queued"]}
    assert ids_on("/tasks?error=BAD+INPUT") == {populated["failed"]}            # error text, any case
    assert ids_on("/tasks?error=bad+input&status=queued") == set()
    jump = local.get(f"/tasks?id={populated['failed'].upper()}")
    assert jump.status_code == 303 and jump.headers["location"] == f"/tasks/{populated['failed']}"
    missing = local.get("/tasks?id=01a2b3c4-0000-7000-8000-000000000000&status=failed")
    assert missing.headers["location"] == "/tasks?status=failed&notice=no-such-task"
    assert "No task has this id." in local.get(missing.headers["location"]).text
    assert "Unknown status" in local.get("/tasks?status=nonsense").text
    assert "filter ignored" in local.get("/tasks?type=a%00b&limit=7").text
    assert "not an id" in local.get("/tasks?series=nope").text
    assert ids_on("/tasks?status=nonsense&limit=7") == set(populated.values())


def test_the_list_has_error_finished_and_duration_columns(local, populated, app):
    html = local.get("/tasks").text
    for column in ("<th>Error</th>", "<th>Finished</th>", '<th class="num">Duration</th>', "<th>Created</th>"):
        assert column in html
    failed_row = re.search(rf'<tr data-key="{populated["failed"]}".*?</tr>', html, re.S).group(0)
    assert "ValueError: bad input &lt;b&gt;" in failed_row and "Traceback" not in failed_row, "the exception line only"
    assert " ms</td>" in failed_row or " s</td>" in failed_row


def test_pages_go_back_through_the_history(local, app):
    ids = app.create_many("job", [{"n": n} for n in range(120)])
    first = local.get("/tasks?limit=50").text
    shown = re.findall(r'<tr data-key="([0-9a-f-]{36})"', first)
    assert shown == ids[::-1][:50], "newest first"
    older = re.search(r'rel="next" href="(/tasks\?[^"]+)"', first).group(1).replace("&amp;", "&")
    assert "after=" in older and "limit=50" in older
    second = local.get(older).text
    assert re.findall(r'<tr data-key="([0-9a-f-]{36})"', second) == ids[::-1][50:100]
    assert "« Newest" in second
    third = local.get(re.search(r'rel="next" href="(/tasks\?[^"]+)"', second).group(1).replace("&amp;", "&")).text
    assert re.findall(r'<tr data-key="([0-9a-f-]{36})"', third) == ids[::-1][100:]
    assert 'rel="next"' not in third


def test_a_live_update_is_the_live_region_alone(local, populated):
    for path in ("/", "/tasks?status=failed", f"/tasks/{populated['failed']}", "/schedules", "/workers"):
        part = local.get(path, headers={"X-Tasker-Live": "1"})
        assert part.status_code == 200 and part.headers["vary"] == "X-Tasker-Live", path
        assert part.text.lstrip().startswith('<div id="live" data-live>') and "<html" not in part.text, path
        # Relative times ("in 4 s") may tick between the two requests: a fresh pair then agrees.
        for _ in range(3):
            whole = local.get(path).text
            if part.text.strip() in whole:
                break
            part = local.get(path, headers={"X-Tasker-Live": "1"})
        assert part.text.strip() in whole, f"{path}: the same rendering as the page's"


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


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-key="([0-9a-f-]{36})"', html)


def _words(html: str) -> str:
    """The page's text with its whitespace run together, as a reader sees it."""
    return " ".join(html.split())


def test_bulk_on_matching_tasks_asks_with_a_count_then_acts(local, app):
    @app.handler(max_attempts=1)
    def flaky(payload):
        raise TimeoutError(f"upstream timed out ({payload})")

    failed = [app.create("flaky", n) for n in range(3)]
    app.process_queue()
    later = app.create_many("later", list(range(4)), delay=3600)
    token = csrf_token(local, "/tasks?status=failed")
    ask = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "matching:retry", "status": "failed", "error": "TIMED OUT"})
    assert ask.status_code == 200 and "<h1>Retry 3 tasks?</h1>" in ask.text
    assert "Of the 3 tasks matching status failed, error contains “TIMED OUT”, 3 can be" in _words(ask.text)
    assert app.count(status="failed") == 3, "asking changes nothing"
    newest = app.list(limit=1)[0].id
    assert f'name="upto" value="{newest}"' in ask.text
    app.create("flaky", 99)
    app.process_queue()                       # a new failure after the confirmation is left out
    done = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "matching:retry", "status": "failed",
                                           "error": "TIMED OUT", "upto": newest, "confirmed": "1"})
    assert done.status_code == 303
    assert done.headers["location"] == "/tasks?status=failed&error=TIMED+OUT&notice=bulk&action=retry&n=3"
    assert "3 tasks retried." in local.get(done.headers["location"]).text
    assert [app.get(i).status.value for i in failed] == ["queued"] * 3 and app.count(status="failed") == 1

    nothing = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "matching:run_now", "status": "failed"}).text
    assert "<h1>Nothing to run now</h1>" in nothing and "Of the 1 tasks matching status failed, 0 can be" in _words(nothing)
    everything = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "matching:delete"}).text
    assert "Of all 8 tasks, 8 can be" in _words(everything)
    moved = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "matching:run_now", "confirmed": "1"})
    assert moved.headers["location"].endswith("notice=bulk&action=run_now&n=4")
    assert app.count(action="run_now") == 0 and app.count(type="later", status="queued") == 4


def test_bulk_on_ticked_tasks(local, app):
    ids = app.create_many("later", list(range(5)), delay=3600)
    token = csrf_token(local, "/tasks")
    ask = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "selected:cancel", "type": "later",
                                          "id": [ids[0], ids[1].upper(), "not-an-id", ids[0]]})
    assert "<h1>Cancel 2 tasks?</h1>" in ask.text and "Of the 2 ticked tasks, 2 can be" in _words(ask.text)
    assert ask.text.count('type="hidden" name="id"') == 2
    done = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "selected:cancel", "confirmed": "1",
                                           "type": "later", "id": [ids[0], ids[1]]})
    assert done.headers["location"] == "/tasks?type=later&notice=bulk&action=cancel&n=2"
    assert [app.get(i).status.value for i in ids] == ["cancelled"] * 2 + ["queued"] * 3
    none = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "selected:delete", "type": "later"})
    assert none.headers["location"] == "/tasks?type=later&notice=bulk-none"
    odd = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "everything:explode", "confirmed": "1"})
    assert odd.headers["location"] == "/tasks?" and app.count() == 5
    for data in ({"choice": "matching:delete", "confirmed": "1"}, {"csrf_token": token + "x", "choice": "matching:delete", "confirmed": "1"}):
        assert local.post("/tasks/bulk", data=data).status_code == 403
    assert app.count() == 5


def test_a_bulk_action_stops_at_its_limit_and_says_more_remain(local, app, monkeypatch):
    from tasker.web import bulk

    monkeypatch.setattr(bulk, "MAX_BULK_PER_REQUEST", 3)
    app.create_many("later", list(range(5)), delay=3600)
    token = csrf_token(local, "/tasks")
    ask = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "matching:cancel"}).text
    assert "stops after 3 tasks: repeat it for the rest" in ask
    done = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "matching:cancel", "confirmed": "1"})
    assert done.headers["location"].endswith("notice=bulk&action=cancel&n=3&more=1")
    assert "More match" in local.get(done.headers["location"]).text
    assert app.count(status="queued") == 2


def test_schedules_show_payload_tasks_and_run_now(local, app):
    series = app.schedule_every(3600, "sync", {"warehouse": "north"}, name="hourly")
    page = local.get("/schedules").text
    assert "{&#34;warehouse&#34;:&#34;north&#34;}" in page
    assert f'href="/tasks?series={series}"' in page and f'action="/schedules/{series}/run-now"' in page
    token = csrf_token(local, "/schedules")
    ran = local.post(f"/schedules/{series}/run-now", data={"csrf_token": token})
    run = ran.headers["location"].split("/tasks/")[1].split("?")[0]
    assert ran.headers["location"] == f"/tasks/{run}?notice=series-run" and app.get(run).series_id == series
    assert "A run of its series was queued" in local.get(ran.headers["location"]).text
    listed = local.get(f"/tasks?series={series}").text
    assert _rows(listed) == [run] and "Runs of hourly" in listed
    app.cancel(series)
    assert local.post(f"/schedules/{series}/run-now", data={"csrf_token": token}).headers["location"] == "/schedules?notice=series-not-run"
    assert local.post(f"/schedules/{series}/run-now", data={}).status_code == 403


def test_progress_shows_as_a_bar_when_it_says_how_far(local, app):
    @app.handler()
    def report(payload, ctx):
        ctx.progress(payload)

    shapes = {"half": 0.5, "percent": {"percent": 40}, "counted": {"done": 2, "total": 8, "stage": "upload"}, "text": "warming up"}
    ids = {name: app.create("report", value) for name, value in shapes.items()}
    app.process_queue()
    for name, label in (("half", "50%"), ("percent", "40%"), ("counted", "2 of 8 · upload")):
        html = local.get(f"/tasks/{ids[name]}").text
        assert '<svg class="progress"' in html and f"<span>{label}</span>" in html, name
    text = local.get(f"/tasks/{ids['text']}").text
    assert '<svg class="progress"' not in text and '<span class="progress-text">&#34;warming up&#34;</span>' in text


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
                 f"/schedules/{series_id}/cancel", f"/schedules/{series_id}/run-now", "/queues/pause?queue=default",
                 "/queues/resume?queue=reports", "/logout"]:
        assert local.get(path).status_code == 405, path
    assert local.get("/tasks/bulk?choice=matching:delete&confirmed=1").status_code == 404, "no such task, nothing deleted"
    assert app.count() == 4 and len(app.list(series_id=series_id)) == 0
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
    pages = ["/", "/tasks", f"/tasks?type={HOSTILE[0]}", f"/tasks?error={HOSTILE[1]}", "/schedules", "/workers"]
    pages += [f"/tasks/{t.id}" for t in hostile.list()]
    token = csrf_token(local, "/tasks")
    confirm = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "matching:retry", "type": HOSTILE[0],
                                              "error": HOSTILE[2], "queue": HOSTILE[1]}).text
    assert "&lt;script&gt;" in confirm
    for path in [*pages, "bulk"]:
        html = confirm if path == "bulk" else local.get(path).text
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
    token = csrf_token(local, "/tasks")
    confirm = local.post("/tasks/bulk", data={"csrf_token": token, "choice": "matching:retry"}).text
    for path in ["/", "/tasks", "/schedules", "/workers", f"/tasks/{populated['succeeded']}", "bulk"]:
        html = confirm if path == "bulk" else local.get(path).text
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


def test_the_overview_shows_flow_limits(local, app):
    assert "Flow limits" not in local.get("/").text
    app.configure_queue("emails", concurrency_limit=2, rate_limit="100/m")
    app.create("send", 1, queue="emails")
    page = local.get("/").text
    assert "Flow limits" in page and "100/m" in page
