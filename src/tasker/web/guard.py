"""Wrapping endpoints with the access policy: who may call, and CSRF on browser writes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..app import Tasker
from .auth import Auth, Caller, Throttle, too_many
from .cron import CronAuth
from .csrf import HEADER, Csrf

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass
class Web:
    """What every endpoint needs; kept on ``app.state.web``."""

    tasker: Tasker
    auth: Auth
    csrf: Csrf
    cron: CronAuth
    store_label: str
    body_limit: int
    throttle: Throttle = field(default_factory=Throttle)   # failed sign-ins, bearer tokens and cron secrets


def identify(request: Request, html: bool = False) -> Caller | Response:
    """The caller, or the response that refuses it (401/403, or 429 once it failed too often)."""
    web: Web = request.app.state.web
    wait = web.throttle.wait(request)
    if wait:
        return too_many(wait, html)
    caller = web.auth.identify(request)
    if caller is None and web.auth.presented(request):
        web.throttle.failed(request)
    return caller if caller is not None else _refused(request)


def _refused(request: Request) -> Response:
    web: Web = request.app.state.web
    status, message = web.auth.refusal()
    return JSONResponse({"detail": message}, status, headers=web.auth.challenge_headers() if status == 401 else None)


def api(endpoint: Endpoint, write: bool = False) -> Endpoint:
    """A JSON endpoint: 401/403 JSON for refused callers; writes by a browser
    (cookie, basic or loopback) need the ``X-CSRF-Token`` header, bearer-token writes do not."""

    async def guarded(request: Request) -> Response:
        web: Web = request.app.state.web
        caller = identify(request)
        if isinstance(caller, Response):
            return caller
        if write and caller.ambient and not web.csrf.check(request, request.headers.get(HEADER)):
            return JSONResponse({"detail": "CSRF check failed: send the X-CSRF-Token header, or authenticate with a bearer token"}, 403)
        request.state.caller = caller
        return await endpoint(request)

    return _named(guarded, endpoint)


def page(endpoint: Endpoint, refuse: Callable[[Request, int, str], Response]) -> Endpoint:
    """An HTML endpoint: refused callers get ``refuse(request, status, message)`` (the login page)."""

    async def guarded(request: Request) -> Response:
        web: Web = request.app.state.web
        caller = identify(request, html=True)
        if isinstance(caller, Response) and caller.status_code == 429:
            return caller
        if isinstance(caller, Response):
            status, message = web.auth.refusal()
            response = refuse(request, status, message)
            if status == 401:
                response.headers.update(web.auth.challenge_headers())
            return response
        request.state.caller = caller
        return await endpoint(request)

    return _named(guarded, endpoint)


def _named(wrapper: Any, endpoint: Any) -> Any:
    wrapper.__name__ = endpoint.__name__
    wrapper.__doc__ = endpoint.__doc__
    return wrapper
