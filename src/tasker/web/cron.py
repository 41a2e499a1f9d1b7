"""Cron endpoints: ``/api/tasks/cron`` (one ``process_queue`` pass) and ``/api/tasks/cleanup``.

For an external scheduler (Vercel cron, Kubernetes CronJob, curl in crontab)
that calls a URL every minute. They take their own secret, never the
dashboard's credentials: ``Authorization: Bearer <cron secret>``. With no
secret configured every call is refused — Cal.com once compared against an
unset variable and accepted ``Bearer undefined``.
"""
from __future__ import annotations

import logging
import os

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import InputError
from ..limits import MAX_CRON_BATCH
from .auth import PLACEHOLDERS, check_secret, equal, too_many
from .validation import from_core, older_than, query_integer

ENV_VAR = "TASKER_CRON_SECRET"
log = logging.getLogger("tasker.web")


class CronAuth:
    def __init__(self, secret: str | None):
        if secret is None:
            secret = os.environ.get(ENV_VAR)
        if secret is not None and secret.strip().lower() in PLACEHOLDERS:
            if secret.strip():
                log.warning("the cron secret is %r, which looks like an unset value: the cron endpoints refuse every call", secret)
            secret = None
        self.secret = check_secret(secret.strip(), "the cron secret") if secret else None

    def allows(self, request: Request) -> bool:
        if not self.secret:
            return False
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or value.lower() in PLACEHOLDERS:
            return False
        return equal(value, self.secret)


def _refused(request: Request) -> Response | None:
    """None for a call with the cron secret; else 401, or 429 once its address failed too often."""
    web = request.app.state.web
    if wait := web.throttle.wait(request):
        return too_many(wait)
    if web.cron.allows(request):
        return None
    if request.headers.get("authorization"):   # a wrong secret, not a call without one
        web.throttle.failed(request)
    return JSONResponse({"detail": "missing or wrong cron secret (Authorization: Bearer <TASKER_CRON_SECRET>)"}, 401,
                        headers={"WWW-Authenticate": 'Bearer realm="tasker-cron"'})


def _not_on_head(request: Request) -> Response | None:
    """HEAD must not do what GET does here: these GETs act (for schedulers that only GET)."""
    if request.method == "HEAD":
        return Response(status_code=405, headers={"Allow": "GET, POST"})
    return None


async def run_pass(request: Request) -> Response:
    web = request.app.state.web
    if refused := _not_on_head(request):
        return refused
    if refused := _refused(request):
        return refused
    summary = await web.tasker.aprocess_queue(query_integer(request, "batch_size", 100, MAX_CRON_BATCH))
    return JSONResponse(summary.as_dict())


async def cleanup(request: Request) -> Response:
    web = request.app.state.web
    if refused := _not_on_head(request):
        return refused
    if refused := _refused(request):
        return refused
    try:
        deleted = await web.tasker.acleanup(older_than(request))
    except InputError as exc:
        raise from_core(exc, "query") from None
    return JSONResponse({"deleted": deleted})


def routes() -> list[Route]:
    return [
        Route("/api/tasks/cron", run_pass, methods=["GET", "POST"]),
        Route("/api/tasks/cleanup", cleanup, methods=["GET", "POST"]),
    ]
