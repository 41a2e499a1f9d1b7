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

from .auth import equal
from ..errors import InputError
from ..limits import MAX_CRON_BATCH
from .validation import from_core, older_than, query_integer

ENV_VAR = "TASKER_CRON_SECRET"
# What an unset variable becomes after a careless str() or template: never a secret.
PLACEHOLDERS = {"", "undefined", "null", "none", "nil", "false", "true", "0"}
log = logging.getLogger("tasker.web")


class CronAuth:
    def __init__(self, secret: str | None):
        if secret is None:
            secret = os.environ.get(ENV_VAR)
        if secret is not None and secret.strip().lower() in PLACEHOLDERS:
            if secret.strip():
                log.warning("the cron secret is %r, which looks like an unset value: the cron endpoints refuse every call", secret)
            secret = None
        self.secret = secret.strip() if secret else None

    def allows(self, request: Request) -> bool:
        if not self.secret:
            return False
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or value.lower() in PLACEHOLDERS:
            return False
        return equal(value, self.secret)


def _refusal() -> Response:
    return JSONResponse({"detail": "missing or wrong cron secret (Authorization: Bearer <TASKER_CRON_SECRET>)"}, 401,
                        headers={"WWW-Authenticate": 'Bearer realm="tasker-cron"'})


async def run_pass(request: Request) -> Response:
    web = request.app.state.web
    if not web.cron.allows(request):
        return _refusal()
    summary = await web.tasker.aprocess_queue(query_integer(request, "batch_size", 100, MAX_CRON_BATCH))
    return JSONResponse(summary.as_dict())


async def cleanup(request: Request) -> Response:
    web = request.app.state.web
    if not web.cron.allows(request):
        return _refusal()
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
