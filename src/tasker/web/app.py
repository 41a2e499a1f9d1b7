"""``create_app``: wires pages, API, cron endpoints, metrics and static files into one Starlette app."""
from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..app import Tasker
from . import api, cron, metrics, pages
from .auth import Auth
from .csrf import Csrf
from .guard import Web
from .headers import SecurityHeaders
from .validation import BodyTooLarge, InvalidInput

API_MARGIN = 64 * 1024  # room for the JSON around a payload of the maximum size


def create_app(
    tasker: Tasker,
    *,
    token: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    cron_secret: str | None = None,
    allow_unauthenticated_loopback: bool = True,
) -> Starlette:
    """The dashboard, JSON API, cron endpoints and metrics for ``tasker``, as an ASGI app.

    ``token``: bearer token for the API and sign-in token for the dashboard;
    ``basic_auth``: ``(user, password)`` accepted too. With neither, only
    loopback clients are served (unless ``allow_unauthenticated_loopback`` is
    False: then nobody). ``cron_secret`` (default: ``$TASKER_CRON_SECRET``)
    guards ``/api/tasks/cron`` and ``/api/tasks/cleanup``; unset, they refuse
    every call.

    >>> app = create_app(Tasker(), token="s3cret", cron_secret="another-s3cret")
    >>> uvicorn.run(app, host="127.0.0.1", port=8080)
    """
    if not isinstance(tasker, Tasker):
        raise TypeError(f"create_app needs a tasker.Tasker, not {type(tasker).__name__}")
    auth = Auth(token, basic_auth, allow_unauthenticated_loopback)
    web = Web(
        tasker=tasker,
        auth=auth,
        csrf=Csrf(auth),
        cron=cron.CronAuth(cron_secret),
        store_label=_store_label(tasker),
        body_limit=tasker.max_payload_bytes * 2 + API_MARGIN,  # payload and meta may each reach the limit
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await _close_loop_store(tasker)

    app = Starlette(
        routes=[
            *one_route_per_path([
                *cron.routes(),  # before /api/tasks/{task_id}
                *api.routes(),
                *metrics.routes(),
                *pages.routes(),
            ]),
            Mount("/static", StaticFiles(packages=[("tasker.web", "static")]), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={InvalidInput: _invalid, BodyTooLarge: _too_large, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.web = web
    return app


def one_route_per_path(routes: list[Route]) -> list[Route]:
    """Routes that share a path become one, dispatching on the method, so that a method none of
    them takes gets a 405 whose ``Allow`` lists every method of the path (Starlette would answer
    with the first route's methods only)."""
    grouped: dict[str, list[Route]] = {}
    for route in routes:
        grouped.setdefault(route.path, []).append(route)
    merged = []
    for path, same in grouped.items():
        if len(same) == 1:
            merged.append(same[0])
            continue
        endpoints = {method: route.endpoint for route in same for method in route.methods or ()}

        async def dispatch(request: Request, endpoints: dict[str, Any] = endpoints) -> Response:
            return await endpoints[request.method](request)

        dispatch.__name__ = "_".join(route.name for route in same)
        merged.append(Route(path, dispatch, methods=sorted(endpoints)))
    return merged


def _store_label(tasker: Tasker) -> str:
    # The display URL has no password; drop the query too, where a password may also hide.
    config = tasker.config
    if config.kind == "sqlite":
        return config.display
    return urlsplit(config.display)._replace(query="").geturl() + f" (schema {config.schema})"


async def _close_loop_store(tasker: Tasker) -> None:
    """Close the connections this event loop opened, leaving the caller's own Tasker usable."""
    await tasker.aclose()


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidInput)
    return JSONResponse({"detail": exc.detail}, 422)


async def _too_large(request: Request, exc: Exception) -> Response:
    limit = request.app.state.web.body_limit
    return JSONResponse({"detail": f"the body is larger than {limit} bytes"}, 413)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers: Any = exc.headers
    if request.url.path.startswith(request.scope.get("root_path", "").rstrip("/") + "/api/"):
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=headers)
    return PlainTextResponse(str(exc.detail), exc.status_code, headers=headers)
