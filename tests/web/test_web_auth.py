"""Who may use the dashboard and API: loopback, bearer token, basic auth, the sign-in cookie."""
from __future__ import annotations

import base64

import pytest
from webtools import BEARER, TOKEN, csrf_token

PROTECTED = ["/", "/tasks", "/schedules", "/workers", "/api/tasks", "/api/stats", "/api/openapi.json", "/metrics"]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_loopback_needs_nothing_when_nothing_is_configured(local):
    for path in PROTECTED:
        assert local.get(path).status_code == 200, path


def test_remote_client_is_refused_without_configuration(make_client, app):
    remote = make_client(remote=True)
    for path in PROTECTED:
        response = remote.get(path)
        assert response.status_code == 403, path
        assert "loopback" in response.text
    # Even a token-looking header does not help when no token is configured.
    assert remote.get("/api/tasks", headers={"Authorization": "Bearer undefined"}).status_code == 403
    assert remote.post("/api/tasks", json={"type": "t"}).status_code == 403
    assert app.list() == []


@pytest.mark.parametrize("where, headers", [
    ({"base_url": "http://127.0.0.1", "client": ("10.0.0.8", 4000)}, {}),           # private, still not loopback
    ({"base_url": "http://127.0.0.1", "client": ("127.0.0.1", 4000)}, {"X-Forwarded-For": "198.51.100.7"}),  # via a proxy
    ({"base_url": "http://127.0.0.1", "client": ("127.0.0.1", 4000)}, {"Forwarded": "for=198.51.100.7"}),
    ({"base_url": "http://attacker.example", "client": ("127.0.0.1", 4000)}, {}),   # DNS rebinding: wrong Host
])
def test_what_does_not_count_as_loopback(make_client, where, headers):
    client = make_client(where=where)
    assert client.get("/api/stats", headers=headers).status_code == 403


@pytest.mark.parametrize("base_url", ["http://localhost:8080", "http://[::1]:8080", "http://127.0.0.2"])
def test_loopback_names(make_client, base_url):
    client = make_client(where={"base_url": base_url, "client": ("::1" if "::1" in base_url else "127.0.0.1", 4000)})
    assert client.get("/api/stats").status_code == 200


def test_loopback_exemption_can_be_switched_off(make_client):
    assert make_client(allow_unauthenticated_loopback=False).get("/api/stats").status_code == 403


def test_token_is_required_from_everyone_once_configured(make_client):
    for remote in (True, False):
        client = make_client(remote=remote, token=TOKEN)
        for path in PROTECTED:
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert "Bearer" in refused.headers["www-authenticate"]
            assert client.get(path, headers=BEARER).status_code == 200, path
        for wrong in ("Bearer wrong", f"Bearer {TOKEN}x", "Bearer ", "Bearer undefined", f"Basic {TOKEN}", TOKEN):
            assert client.get("/api/stats", headers={"Authorization": wrong}).status_code == 401, wrong


def test_basic_auth(make_client):
    client = make_client(remote=True, basic_auth=("ops", "pa:ss wörd"))
    refused = client.get("/")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert client.get("/", headers=basic("ops", "pa:ss wörd")).status_code == 200
    assert client.get("/api/stats", headers=basic("ops", "pa:ss wörd")).status_code == 200
    for user, password in [("ops", "wrong"), ("nope", "pa:ss wörd"), ("", "")]:
        assert client.get("/", headers=basic(user, password)).status_code == 401
    assert client.get("/", headers={"Authorization": "Basic !!!notbase64"}).status_code == 401


def test_browser_signs_in_with_the_token(make_client):
    client = make_client(remote=True, token=TOKEN)
    page = client.get("/tasks?status=queued")
    assert page.status_code == 401 and 'name="token"' in page.text
    token = csrf_token(client, "/login")
    wrong = client.post("/login", data={"csrf_token": token, "token": "nope", "next": "/tasks"})
    assert wrong.status_code == 401 and "Wrong token" in wrong.text
    signed_in = client.post("/login", data={"csrf_token": token, "token": TOKEN, "next": "/tasks?status=queued"})
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/tasks?status=queued"
    cookie = signed_in.headers["set-cookie"]
    assert "tasker_session=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert client.get("/tasks").status_code == 200
    assert client.get("/api/stats").status_code == 200
    # Signing out needs the CSRF token too, then the cookie is gone.
    assert client.post("/logout").status_code == 403
    out = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert out.status_code == 303
    assert client.get("/tasks").status_code == 401


def test_login_never_redirects_off_site(make_client):
    client = make_client(remote=True, token=TOKEN)
    token = csrf_token(client, "/login")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = client.post("/login", data={"csrf_token": token, "token": TOKEN, "next": target})
        assert response.headers["location"] == "/", target


def test_forged_session_cookies_are_refused(make_client):
    client = make_client(remote=True, token=TOKEN)
    for forged in ("9999999999.abc.def", "", "x", "9999999999.abc." + "0" * 64):
        client.cookies.set("tasker_session", forged)
        assert client.get("/api/stats").status_code == 401, forged


def test_session_from_another_token_is_refused(make_client):
    first = make_client(remote=True, token=TOKEN)
    token = csrf_token(first, "/login")
    first.post("/login", data={"csrf_token": token, "token": TOKEN})
    session = first.cookies.get("tasker_session")
    other = make_client(remote=True, token="another-token-entirely")
    other.cookies.set("tasker_session", session)
    assert other.get("/api/stats").status_code == 401


def test_cookie_authenticated_api_writes_need_the_csrf_header(make_client, app):
    client = make_client(remote=True, token=TOKEN)
    token = csrf_token(client, "/login")
    client.post("/login", data={"csrf_token": token, "token": TOKEN})
    assert client.post("/api/tasks", json={"type": "t"}).status_code == 403
    assert client.post("/api/tasks", json={"type": "t"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert app.list() == []
    page_token = csrf_token(client, "/")
    assert client.post("/api/tasks", json={"type": "t"}, headers={"X-CSRF-Token": page_token}).status_code == 201
    # A bearer-token write needs no CSRF token: no browser sends that header by itself.
    bearer = make_client(remote=True, token=TOKEN)
    assert bearer.post("/api/tasks", json={"type": "t"}, headers=BEARER).status_code == 201


def test_loopback_api_writes_need_the_csrf_header(local, app):
    # A page on another site can make the user's browser post to localhost: loopback is ambient too.
    assert local.post("/api/tasks", json={"type": "t"}).status_code == 403
    assert local.post("/api/tasks", json={"type": "t"}, headers={"X-CSRF-Token": csrf_token(local)}).status_code == 201


def test_create_app_rejects_bad_credentials(app):
    from tasker.web import create_app

    for options in ({"token": ""}, {"token": "  "}, {"basic_auth": ("", "x")}, {"basic_auth": ("a:b", "x")}):
        with pytest.raises(ValueError):
            create_app(app, **options)
    with pytest.raises(TypeError):
        create_app("not a tasker")  # type: ignore[arg-type]


def test_static_files_are_public(make_client):
    client = make_client(remote=True, token=TOKEN)
    assert client.get("/static/tasker.css").status_code == 200
    assert client.get("/static/tasker.js").status_code == 200

