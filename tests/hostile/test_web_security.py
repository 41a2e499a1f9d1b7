"""Security holes a review found in the web surface and the CLI, each closed, on both stores."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from webtools import BEARER, REMOTE, TOKEN, csrf_token

from apps import isolated
from tasker import Tasker, TaskStatus
from tasker.cli import cli
from tasker.web import create_app
from tasker.web.auth import FORWARDING_HEADERS

PASSWORD = "Sup3r-s3cret-PW"
LEAKY_URLS = [
    f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:1/app",
    f"mysql://app:{PASSWORD}@127.0.0.1/app",
    f" postgresql://app:{PASSWORD}@127.0.0.1:1/app",
    f"postgresql://app@127.0.0.1:1/app?password={PASSWORD}",
    f"postgresql://127.0.0.1:1/app?sslmode=disable&password={PASSWORD}&application_name=x",
]


# -- 7. the database password never shows ------------------------------------------------------


@pytest.mark.parametrize("url", LEAKY_URLS)
@pytest.mark.parametrize("command", [["stats"], ["migrate"], ["list"], ["workers"], ["enqueue", "t"], ["cleanup", "--yes"], ["pause", "q"]])
def test_no_command_prints_the_database_password(url: str, command: list[str]):
    result = CliRunner().invoke(cli, [*command, "--url", url])
    assert result.exit_code != 0
    assert PASSWORD not in result.output + result.stderr
    assert "***" in result.stderr or "unsupported Tasker URL" in result.stderr, result.stderr


def test_repr_and_the_dashboard_show_no_password(app: Tasker):
    with_query = Tasker(f"postgresql://app@127.0.0.1:1/app?password={PASSWORD}")
    assert PASSWORD not in repr(with_query) and PASSWORD not in with_query.config.display
    in_userinfo = Tasker(f"postgresql://app:{PASSWORD}@127.0.0.1:1/app")
    assert PASSWORD not in repr(in_userinfo)
    web = create_app(in_userinfo)
    assert PASSWORD not in web.state.web.store_label


# -- 8. the no-token default: only this machine's own browser --------------------------------------


@pytest.mark.parametrize("header", FORWARDING_HEADERS)
def test_without_a_token_a_proxied_request_is_refused(local, app: Tasker, header: str):
    task_id = app.create("t")
    assert local.get("/api/stats").status_code == 200
    assert local.get("/api/stats", headers={header: "203.0.113.9"}).status_code == 403
    refused = local.post(f"/api/tasks/{task_id}/cancel", headers={header: "203.0.113.9", "X-CSRF-Token": csrf_token(local)})
    assert refused.status_code == 403 and app.get(task_id).status is TaskStatus.QUEUED


@pytest.mark.parametrize("host", ["tasker.example.com", "evil.example:8080", "10.0.0.5", "127.0.0.1.nip.io", ""])
def test_without_a_token_a_request_for_another_host_name_is_refused(local, host: str):
    assert local.get("/api/stats", headers={"Host": host}).status_code == 403


# -- 9. CSRF tokens are bound to the session --------------------------------------------------------


def test_an_anonymous_csrf_token_planted_as_a_cookie_is_refused(make_client, app: Tasker):
    victim = make_client(remote=True, token=TOKEN)
    victim.post("/login", data={"csrf_token": csrf_token(victim, "/login"), "token": TOKEN})
    assert victim.cookies.get("tasker_session")
    attacker = make_client(remote=True, token=TOKEN)
    planted = csrf_token(attacker, "/login")      # anyone can get one from the sign-in page
    task_id = app.create("t", delay=3600)
    for site in ("same-site", "same-origin"):
        victim.cookies.set("tasker_csrf", planted)
        response = victim.post(f"/tasks/{task_id}/cancel", data={"csrf_token": planted}, headers={"Sec-Fetch-Site": site})
        assert response.status_code == 403, site
    assert app.get(task_id).status is TaskStatus.QUEUED
    victim.cookies.delete("tasker_csrf")
    own = csrf_token(victim, f"/tasks/{task_id}")
    assert victim.post(f"/tasks/{task_id}/cancel", data={"csrf_token": own}).status_code == 303
    assert app.get(task_id).status is TaskStatus.CANCELLED


def test_a_same_site_request_is_refused_even_with_a_good_token(local, app: Tasker):
    task_id = app.create("t", delay=3600)
    token = csrf_token(local, f"/tasks/{task_id}")
    assert local.post(f"/tasks/{task_id}/cancel", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "same-site"}).status_code == 403
    assert app.get(task_id).status is TaskStatus.QUEUED


# -- 10. the smaller holes ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["None", "undefined", "null", "x", "short"])
def test_placeholder_and_short_tokens_are_refused(app: Tasker, token: str):
    with pytest.raises(ValueError, match="token"):
        create_app(app, token=token)
    if token.lower() not in ("none", "undefined", "null"):   # a placeholder cron secret refuses every call instead
        with pytest.raises(ValueError, match="cron secret"):
            create_app(app, cron_secret=token)


def test_failed_bearer_tokens_and_logins_are_throttled(make_client):
    client = make_client(remote=True, token=TOKEN)
    statuses = [client.get("/api/stats", headers={"Authorization": f"Bearer guess-{n:04d}"}).status_code for n in range(40)]
    assert statuses[:30] == [401] * 30 and set(statuses[30:]) == {429}
    throttled = client.get("/api/stats", headers=BEARER)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0   # the address waits, whatever it sends
    other = make_client(where={**REMOTE, "client": ("203.0.113.77", 4321)}, token=TOKEN)
    assert other.get("/api/stats", headers=BEARER).status_code == 200

    form = make_client(where={**REMOTE, "client": ("203.0.113.78", 4321)}, token=TOKEN)
    answers = []
    for n in range(31):
        token = csrf_token(form, "/login")
        answers.append(form.post("/login", data={"csrf_token": token, "token": f"wrong-{n}"}).status_code)
    assert answers[-1] == 429


def test_head_does_not_run_the_cron_actions(make_client, app: Tasker):
    app.create("t")
    app.cancel(app.create("t"))
    client = make_client(cron_secret="cron-secret-for-head")
    auth = {"Authorization": "Bearer cron-secret-for-head"}
    for path in ("/api/tasks/cleanup", "/api/tasks/cron"):
        response = client.head(path, headers=auth)
        assert response.status_code == 405 and set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
    assert app.stats()["cancelled"] == 1


@pytest.mark.parametrize("method, path, allowed", [
    ("PUT", "/api/tasks", {"GET", "HEAD", "POST"}),
    ("PATCH", "/api/tasks/01a203fe-73cd-711e-85ca-8c679aa0b330", {"GET", "HEAD", "DELETE"}),
    ("GET", "/api/tasks/01a203fe-73cd-711e-85ca-8c679aa0b330/cancel", {"POST"}),
    ("DELETE", "/login", {"GET", "HEAD", "POST"}),
])
def test_405_lists_every_method_of_the_path(local, method: str, path: str, allowed: set[str]):
    response = local.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == allowed


def test_a_refused_visitor_is_not_told_which_database(make_client, app: Tasker):
    client = make_client(remote=True, token=TOKEN)
    label = client.app.state.web.store_label
    for path in ("/", "/login", "/tasks"):
        assert label not in client.get(path).text
    client.post("/login", data={"csrf_token": csrf_token(client, "/login"), "token": TOKEN})
    assert label in client.get("/").text


def test_an_isolated_child_that_exits_is_recorded_with_its_exit_code(app: Tasker):
    app.register("exit_nine", isolated.exit_nine, isolation="process", max_attempts=1)
    task_id = app.create("exit_nine")
    app.process_queue()
    task = app.get(task_id)
    assert task.status is TaskStatus.FAILED
    assert re.search(r"exited with code 9\b", task.last_error) and "EOFError" not in task.last_error


def test_listings_never_return_whole_large_values(local, app: Tasker):
    """A 900 kB payload and result: the list API leaves them out (and says so), the pages show
    a bounded part; GET /api/tasks/{id} still returns them whole."""
    @app.handler()
    def echo(payload):
        return payload

    big = {"blob": "x" * 900_000}
    task_id = app.create("echo", big)
    small = app.create("echo", {"n": 1})
    app.process_queue()
    listed = {t["id"]: t for t in local.get("/api/tasks").json()["tasks"]}
    assert listed[task_id]["payload"] is None and listed[task_id]["result"] is None
    size = len(json.dumps(big))
    assert listed[task_id]["truncated"] == {"payload": size, "result": size}
    assert listed[small]["payload"] == {"n": 1} and listed[small]["truncated"] == {}
    assert local.get(f"/api/tasks/{task_id}").json()["result"] == big
    assert len(local.get("/tasks").content) < 100_000
    page = local.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and len(page.content) < 300_000 and "see the JSON API for the whole value" in page.text


def test_a_handler_raising_system_exit_in_a_cron_pass_fails_its_task_not_the_server(make_client, app: Tasker):
    @app.handler(max_attempts=1)
    async def leave(payload):
        raise SystemExit(4)

    @app.handler(max_attempts=1)
    def leave_sync(payload):
        raise KeyboardInterrupt

    ids = [app.create("leave"), app.create("leave_sync")]
    client = make_client(cron_secret="cron-secret-for-exit")
    response = client.post("/api/tasks/cron", headers={"Authorization": "Bearer cron-secret-for-exit"})
    assert response.status_code == 200 and response.json()["failed"] == 2
    assert [app.get(i).status for i in ids] == [TaskStatus.FAILED, TaskStatus.FAILED]
    assert client.get("/api/stats").status_code == 200
