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
from .validation import InvalidInput, older_than, problem, single

ENV_VAR = "TASKER_CRON_SECRET"
# What an unset variable becomes after a careless str() or template: never a secret.
PLACEHOLDERS = {"", "undefined", "null", "none", "nil", "false", "true", "0"}
MAX_BATCH = 1000
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


def _batch_size(request: Request) -> int:
    raw = single(request, "batch_size")
    if raw is None:
        return 100
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_BATCH:
        raise InvalidInput([problem(("query", "batch_size"), f"batch_size must be an integer from 1 to {MAX_BATCH}")])
    return int(raw)


async def run_pass(request: Request) -> Response:
    web = request.app.state.web
    if not web.cron.allows(request):
        return _refusal()
    summary = await web.tasker.aprocess_queue(_batch_size(request))
    return JSONResponse(summary.as_dict())


async def cleanup(request: Request) -> Response:
    web = request.app.state.web
    if not web.cron.allows(request):
        return _refusal()
    deleted = await web.tasker.acleanup(older_than(request))
    return JSONResponse({"deleted": deleted})


def routes() -> list[Route]:
    return [
        Route("/api/tasks/cron", run_pass, methods=["GET", "POST"]),
        Route("/api/tasks/cleanup", cleanup, methods=["GET", "POST"]),
    ]
