"""Tasker's dashboard inside a Django project, behind Django's staff login.

``urls.py``::

    from django.urls import include, path
    from tasker.contrib.django.dashboard import dashboard_urls

    urlpatterns = [..., path("tasker/", include(dashboard_urls()))]

Staff users signed in to Django (the admin's login) see ``/tasker/``; anyone else is sent to
the admin login page. The view runs the dashboard (an ASGI app) on the project Tasker's own
event loop, so it works the same under WSGI and ASGI servers and with ``runserver``. The
dashboard's writes are checked by its own CSRF token, so the view is exempt from Django's.
"""
from __future__ import annotations

import threading
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from ...app import Tasker
from ...web.auth import HOST_CALLER
from .project import tasker

_apps: dict[int, tuple[Tasker, Any]] = {}
_lock = threading.Lock()


def dashboard_urls(staff_only: bool = True) -> list[Any]:
    """URL patterns serving the dashboard below the prefix they are included at.
    ``staff_only=False`` admits any signed-in user."""
    view = dashboard_view if staff_only else signed_in_dashboard_view
    return [re_path(r"^(?P<path>.*)$", view, name="tasker-dashboard")]


def _dashboard(app: Tasker) -> Any:
    from ...web import create_app

    with _lock:
        held = _apps.get(id(app))
        if held is None or held[0] is not app:
            # Only callers this view vouches for get in: no loopback pass, no token.
            held = (app, create_app(app, allow_unauthenticated_loopback=False))
            _apps[id(app)] = held
        return held[1]


def serve(request: HttpRequest, path: str) -> HttpResponse:
    """Hand ``request`` to the dashboard; ``path`` is the part below the include's prefix."""
    app = tasker()
    status, headers, body = app.runtime.sync(_call(_dashboard(app), _scope(request, path), request.body))
    response = HttpResponse(body, status=status)
    for name, value in headers:
        if name.lower() == "set-cookie":
            response.cookies.load(value)   # HttpResponse keeps one header per name; cookies have their jar
        else:
            response.headers[name] = value
    return response


def _scope(request: HttpRequest, path: str) -> dict[str, Any]:
    full = request.path
    root = full[: len(full) - len(path)].rstrip("/")
    headers = [(key[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1"))
               for key, value in request.META.items() if key.startswith("HTTP_")]
    for key, name in (("CONTENT_TYPE", b"content-type"), ("CONTENT_LENGTH", b"content-length")):
        if request.META.get(key):
            headers.append((name, str(request.META[key]).encode("latin-1")))
    host, _, port = request.get_host().partition(":")
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": request.method, "scheme": request.scheme,
        "path": full, "raw_path": full.encode(), "root_path": root,
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "client": (request.META.get("REMOTE_ADDR") or "unknown", 0),
        "server": (host, int(port or (443 if request.is_secure() else 80))),
        HOST_CALLER: request.user.get_username() or "user",
    }


async def _call(asgi: Any, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    sent = False
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await asgi(scope, receive, send)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
    return int(start.get("status", 500)), headers, b"".join(chunks)


@csrf_exempt
@staff_member_required
def dashboard_view(request: HttpRequest, path: str = "") -> HttpResponse:
    """The dashboard for Django's staff users."""
    return serve(request, path)


@csrf_exempt
def signed_in_dashboard_view(request: HttpRequest, path: str = "") -> HttpResponse:
    """The dashboard for any signed-in user (``dashboard_urls(staff_only=False)``)."""
    from django.contrib.auth.views import redirect_to_login

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return serve(request, path)
