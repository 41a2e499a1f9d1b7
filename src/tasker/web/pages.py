"""The dashboard's HTML pages and their POST-only actions (Post/Redirect/Get)."""
from __future__ import annotations

import asyncio
import statistics
import time
from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import checks
from ..errors import InputError
from ..ids import is_id
from ..limits import ERROR_SCAN
from ..task import ACTIONS, Task, TaskStatus, allows
from . import bulk, guard
from .auth import SESSION_COOKIE, SESSION_SECONDS, too_many
from .charts import throughput_svg
from .csrf import ANONYMOUS, cookie_path
from .forms import checked_form, redirect
from .guard import Web
from .listing import read_listing, without
from .render import page, root

RUNNING_SHOWN = 1000   # running tasks read for the workers page (their current tasks)
NOTICES = {
    "cancelled": ("ok", "Task cancelled."),
    "cancel-requested": ("ok", "Cancellation requested: the running handler is being interrupted."),
    "not-cancelled": ("error", "Not cancelled: the task had already finished."),
    "retried": ("ok", "Task queued again with one more attempt."),
    "not-retried": ("error", "Not retried: only failed or cancelled tasks can be retried."),
    "run-now": ("ok", "Task is due now."),
    "not-run-now": ("error", "Not changed: only a queued task can be made due now."),
    "deleted": ("ok", "Task deleted."),
    "not-deleted": ("error", "Not deleted: a running task cannot be deleted (cancel it first)."),
    "paused": ("ok", "Queue paused: workers start no new tasks from it."),
    "resumed": ("ok", "Queue resumed."),
    "series-stopped": ("ok", "Series stopped: no further runs."),
    "series-not-stopped": ("error", "Not stopped: the series was already cancelled."),
    "series-run": ("ok", "A run of its series was queued, due now."),
    "series-not-run": ("error", "Not run: the series is cancelled (or gone)."),
    "bulk-none": ("error", "No task was selected: tick the tasks first, or act on all matching ones."),
    "no-such-task": ("error", "No task has this id."),
    "bad-queue": ("error", "That is not a valid queue name."),
}


def _web(request: Request) -> Web:
    return request.app.state.web


def _is_name(value: str, field: str) -> bool:
    try:
        checks.name(value, field)
    except InputError:
        return False
    return True


def _notice(request: Request) -> dict[str, str] | None:
    query = request.query_params
    key = query.get("notice", "")
    if key == "bulk":
        return bulk.notice(query.get("action", ""), query.get("n", ""), query.get("more") == "1")
    found = NOTICES.get(key)
    return {"kind": found[0], "text": found[1]} if found else None


def refuse(request: Request, status: int, message: str) -> Response:
    """What a refused browser sees: the sign-in form when a token is configured, else the reason."""
    auth = _web(request).auth
    if status == 401:
        next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return page(request, "login.html", {"message": message, "token_login": auth.token is not None,
                                            "next": safe_next(next_path, request)}, status)
    return page(request, "message.html", {"heading": "Not allowed", "message": message, "back": ""}, status)


def safe_next(value: str, request: Request) -> str:
    """A local path to return to after sign-in (never another site: no scheme, no //host)."""
    if not value.startswith("/") or value.startswith(("//", "/\\")) or any(ord(c) < 0x21 for c in value):
        return root(request) + "/"
    return value


# -- pages -------------------------------------------------------------------------------

async def overview(request: Request) -> Response:
    tasker = _web(request).tasker
    stats, activity, workers = await asyncio.gather(tasker.astats(), tasker.aactivity(3600.0), tasker.aworkers())
    by_queue, paused = stats.get("by_queue", {}), set(stats.get("paused_queues", []))
    oldest = activity.get("oldest_queued_age", {})
    queues = [{"name": name, "counts": by_queue.get(name, {}), "oldest": oldest.get(name), "paused": name in paused}
              for name in sorted(set(by_queue) | paused | set(oldest))]
    recent = activity.get("recent", [])
    hour = {"succeeded": sum(c for _, s, c in activity["throughput"] if s == "succeeded"),
            "failed": sum(c for _, s, c in activity["throughput"] if s == "failed"),
            "runs": len(recent),
            "median_run": statistics.median(r[2] for r in recent) if recent else None,
            "median_wait": statistics.median(r[3] for r in recent) if recent else None}
    alive = sum(1 for w in workers if time.time() - w.last_seen.timestamp() <= tasker.lease)
    return page(request, "overview.html", {
        "nav": "overview", "notice": _notice(request), "by_status": stats.get("by_status", {}), "total": stats.get("total", 0),
        "queues": queues, "hour": hour, "workers_alive": alive, "unhandled": stats.get("unhandled_types", {}),
        "chart": throughput_svg(activity["throughput"], time.time()), "flow_limits": stats.get("flow_limits", []),
    })


async def tasks(request: Request) -> Response:
    """The task list: filters, keyset pages (``after``), and the forms of bulk actions."""
    tasker, query = _web(request).tasker, request.query_params
    jump = query.get("id", "").strip().lower()
    if jump:
        known = is_id(jump) and await tasker.aget(jump) is not None
        return redirect(request, f"/tasks/{jump}" if known else "/tasks?" + read_listing(query).query(), None if known else "no-such-task")
    listing = read_listing(query)
    notice = {"kind": "error", "text": " ".join(listing.ignored)} if listing.ignored else _notice(request)
    found, workers, series = await asyncio.gather(
        tasker.apage(**listing.selection(), after=listing.after or None, limit=listing.limit, scan=ERROR_SCAN),
        tasker.aworkers(),
        tasker.aschedules(include_cancelled=True) if listing.series else _nothing(),
    )
    shown_series = next((s for s in series if s.id == listing.series), None)
    return page(request, "tasks.html", {
        "nav": "tasks", "notice": notice, "listing": listing, "page": found, "tasks": found.tasks,
        "series": shown_series, "without": without, "scan": ERROR_SCAN, "actions": bulk.VERBS,
        "known_types": sorted({t for w in workers for t in w.types} | {t.type for t in found.tasks})[:200],
        "known_queues": sorted({t.queue for t in found.tasks}),
    })


async def _nothing() -> list[Any]:
    return []


async def task_detail(request: Request) -> Response:
    task = await _web(request).tasker.aget(request.path_params["task_id"])
    if task is None:
        return page(request, "message.html", {"heading": "No such task", "back": "/tasks",
                                              "message": "No task has this id (it may have been deleted or cleaned up)."}, 404)
    can = {action: allows(action, task) for action in ACTIONS}
    return page(request, "task.html", {"nav": "tasks", "notice": _notice(request), "task": task, "can": can})


async def schedules(request: Request) -> Response:
    include = request.query_params.get("all") == "1"
    series = await _web(request).tasker.aschedules(include_cancelled=include)
    return page(request, "schedules.html", {"nav": "schedules", "notice": _notice(request), "series": series,
                                            "include_cancelled": include})


async def workers(request: Request) -> Response:
    """Workers with the types they handle and the tasks they run now, and the queued types none handles."""
    tasker = _web(request).tasker
    found, running, stats = await asyncio.gather(tasker.aworkers(), tasker.apage(status="running", limit=RUNNING_SHOWN),
                                                 tasker.astats())
    current: dict[str | None, list[Task]] = defaultdict(list)
    for task in running.tasks:
        current[task.worker_id].append(task)
    rows = sorted(found, key=lambda w: w.last_seen, reverse=True)
    return page(request, "workers.html", {"nav": "workers", "notice": _notice(request), "workers": rows, "lease": tasker.lease,
                                          "current": current, "unhandled": stats.get("unhandled_types", {})})


# -- actions (POST only, CSRF-checked) ---------------------------------------------------------

def task_action(verb: str) -> Any:
    """The endpoint of one action on a task: cancel, retry, run-now or delete."""

    async def act(request: Request) -> Response:
        form = await checked_form(request)
        if isinstance(form, Response):
            return form
        tasker, task_id = _web(request).tasker, request.path_params["task_id"]
        if verb == "delete":
            if await tasker.adelete(task_id):
                return redirect(request, "/tasks", "deleted")
            notice = "not-deleted"
        elif verb == "cancel":
            notice = "not-cancelled"
            if await tasker.acancel(task_id):
                task = await tasker.aget(task_id)
                notice = "cancel-requested" if task is not None and task.status is TaskStatus.RUNNING else "cancelled"
        elif verb == "retry":
            notice = "retried" if await tasker.aretry(task_id) else "not-retried"
        else:
            notice = "run-now" if await tasker.arun_now(task_id) else "not-run-now"
        if await tasker.aget(task_id) is None:
            return redirect(request, "/tasks")
        return redirect(request, f"/tasks/{task_id}", notice)

    act.__name__ = f"task_{verb.replace('-', '_')}"
    return act


async def stop_series(request: Request) -> Response:
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    stopped = await _web(request).tasker.acancel(request.path_params["series_id"])
    return redirect(request, "/schedules", "series-stopped" if stopped else "series-not-stopped")


async def run_series(request: Request) -> Response:
    """One run of a series now: off to the new task."""
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    task_id = await _web(request).tasker.arun_schedule(request.path_params["series_id"])
    return redirect(request, f"/tasks/{task_id}", "series-run") if task_id else redirect(request, "/schedules", "series-not-run")


def queue_action(pause: bool) -> Any:
    async def act(request: Request) -> Response:
        form = await checked_form(request)
        if isinstance(form, Response):
            return form
        name = form.get("queue", "")
        if not _is_name(name, "queue"):
            return redirect(request, "/", "bad-queue")
        tasker = _web(request).tasker
        await (tasker.apause_queue(name) if pause else tasker.aresume_queue(name))
        return redirect(request, "/", "paused" if pause else "resumed")

    act.__name__ = "pause_queue" if pause else "resume_queue"
    return act


# -- signing in with the token ------------------------------------------------------------------

async def login_page(request: Request) -> Response:
    auth = _web(request).auth
    if auth.identify(request) is not None:
        return redirect(request, "/")
    status, message = auth.refusal()
    return refuse(request, 401 if auth.token is not None else status, message)


async def login(request: Request) -> Response:
    # Signing in is what makes a session: its form is bound to none (someone who can sign in has the token anyway).
    form = await checked_form(request, ANONYMOUS)
    if isinstance(form, Response):
        return form
    auth, throttle = _web(request).auth, _web(request).throttle
    if wait := throttle.wait(request):
        return too_many(wait, html=True)
    if not auth.check_token(form.get("token", "")):
        throttle.failed(request)   # past MAX_FAILED_LOGINS a minute, this address gets 429s
        return page(request, "login.html", {"message": "Wrong token.", "token_login": auth.token is not None,
                                            "next": safe_next(form.get("next", ""), request)}, 401)
    response = RedirectResponse(safe_next(form.get("next", ""), request), status_code=303)
    response.set_cookie(SESSION_COOKIE, auth.new_session(), max_age=SESSION_SECONDS, path=cookie_path(request),
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    form = await checked_form(request)
    if isinstance(form, Response):
        return form
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(request), httponly=True, samesite="strict")
    return response


def routes() -> list[Route]:
    def p(endpoint: Any) -> Any:
        return guard.page(endpoint, refuse)

    return [
        Route("/", p(overview), methods=["GET"]),
        Route("/tasks", p(tasks), methods=["GET"]),
        Route("/tasks/bulk", p(bulk.act), methods=["POST"]),
        Route("/tasks/{task_id}", p(task_detail), methods=["GET"]),
        *(Route(f"/tasks/{{task_id}}/{verb}", p(task_action(verb)), methods=["POST"]) for verb in ("cancel", "retry", "run-now", "delete")),
        Route("/schedules", p(schedules), methods=["GET"]),
        Route("/schedules/{series_id}/cancel", p(stop_series), methods=["POST"]),
        Route("/schedules/{series_id}/run-now", p(run_series), methods=["POST"]),
        Route("/workers", p(workers), methods=["GET"]),
        Route("/queues/pause", p(queue_action(True)), methods=["POST"]),
        Route("/queues/resume", p(queue_action(False)), methods=["POST"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", p(logout), methods=["POST"]),
    ]
