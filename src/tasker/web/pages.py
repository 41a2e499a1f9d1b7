"""The dashboard's HTML pages and their POST-only actions (Post/Redirect/Get)."""
from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any, TypeGuard
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .. import checks
from ..errors import InputError
from ..ids import is_id
from ..task import ACTIONS, STATUSES, Task, TaskStatus, allows
from . import guard
from .auth import SESSION_COOKIE, SESSION_SECONDS, too_many
from .charts import bar_svg, throughput_svg
from .csrf import ANONYMOUS, FIELD, cookie_path
from .guard import Web
from .render import page, root
from .validation import BodyTooLarge, read_body

FORM_LIMIT = 16 * 1024
SEARCH_SCAN = 2000   # tasks read to search types by substring (the core filters by exact type only)
LIMITS = (50, 100, 250, 500)
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
    found = NOTICES.get(request.query_params.get("notice", ""))
    return {"kind": found[0], "text": found[1]} if found else None


def _redirect(request: Request, path: str, notice: str | None = None) -> Response:
    target = root(request) + path + (("&" if "?" in path else "?") + urlencode({"notice": notice}) if notice else "")
    return RedirectResponse(target, status_code=303)


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


async def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded form, or None when it is too large."""
    try:
        raw = await read_body(request, FORM_LIMIT)
    except BodyTooLarge:
        return None
    fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in fields.items()}


async def _checked_form(request: Request, binding: str | None = None) -> dict[str, str] | Response:
    form = await _form(request)
    if form is None:
        return page(request, "message.html", {"heading": "Too large", "message": "The form is too large.", "back": "/"}, 413)
    if not _web(request).csrf.check(request, form.get(FIELD), binding):
        return page(request, "message.html", {
            "heading": "Form expired", "back": "/",
            "message": "This form's security token is missing or stale (or it came from another site). Reload the page and try again.",
        }, 403)
    return form


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
        "chart": throughput_svg(activity["throughput"], time.time()),
    })


async def tasks(request: Request) -> Response:
    tasker, query = _web(request).tasker, request.query_params
    filters: dict[str, Any] = {k: query.get(k, "").strip() for k in ("status", "type", "queue", "q")}
    limit = query.get("limit", "100")
    filters["limit"] = int(limit) if limit.isdigit() and int(limit) in LIMITS else 100
    notice = _notice(request)
    if filters["status"] and filters["status"] not in STATUSES:
        filters["status"], notice = "", {"kind": "error", "text": "Unknown status: showing every status."}
    for field in ("type", "queue"):
        if filters[field] and not _is_name(filters[field], field):
            filters[field], notice = "", {"kind": "error", "text": f"That {field} cannot exist (control characters or too long): filter ignored."}
    found = await _find(tasker, filters)
    stats = await tasker.astats()
    shown_types = sorted({t.type for t in found})[:200]

    def chip_query(status: str | None) -> str:
        kept = {k: v for k, v in filters.items() if v and k not in ("status", "limit")}
        return urlencode({**kept, **({"status": status} if status else {})})

    return page(request, "tasks.html", {
        "nav": "tasks", "notice": notice, "filters": filters, "tasks": found, "by_status": stats.get("by_status", {}),
        "total": stats.get("total", 0), "known_queues": sorted(stats.get("by_queue", {})), "known_types": shown_types,
        "filtered": any(filters[k] for k in ("status", "type", "queue", "q")), "searched": bool(filters["q"]),
        "scan": SEARCH_SCAN, "chip_query": chip_query,
    })


async def _find(tasker: Any, filters: dict[str, Any]) -> list[Task]:
    status, type_, queue, q, limit = (filters[k] or None for k in ("status", "type", "queue", "q", "limit"))
    if not q:
        return await tasker.alist(status, type_, queue, limit)
    if is_id(q.lower()):
        task = await tasker.aget(q.lower())
        if task is None or (status and task.status.value != status) or (type_ and task.type != type_) or (queue and task.queue != queue):
            return []
        return [task]
    needle = q.lower()
    scanned = await tasker.alist(status, type_, queue, SEARCH_SCAN)
    return [t for t in scanned if needle in t.type.lower() or t.id.startswith(needle)][:limit]


async def task_detail(request: Request) -> Response:
    task = await _web(request).tasker.aget(request.path_params["task_id"])
    if task is None:
        return page(request, "message.html", {"heading": "No such task", "back": "/tasks",
                                              "message": "No task has this id (it may have been deleted or cleaned up)."}, 404)
    can = {action: allows(action, task) for action in ACTIONS}
    bar, label = _progress(task.progress)
    return page(request, "task.html", {"nav": "tasks", "notice": _notice(request), "task": task, "can": can,
                                       "progress_bar": bar, "progress_label": label})


def _progress(value: Any) -> tuple[Any, str]:
    """A bar for progress given as a fraction, a percentage, or ``{"done": n, "total": m}``."""
    if _number(value) and 0 <= value <= 100:
        fraction = value if value <= 1 else value / 100
        return bar_svg(fraction, f"{fraction:.0%}"), f"{fraction:.0%}"
    if isinstance(value, dict):
        done, total = value.get("done", value.get("current")), value.get("total")
        if _number(done) and _number(total) and total > 0:
            return bar_svg(done / total, f"{done} of {total}"), f"{done:g} of {total:g}"
    return None, ""


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


async def schedules(request: Request) -> Response:
    include = request.query_params.get("all") == "1"
    series = await _web(request).tasker.aschedules(include_cancelled=include)
    return page(request, "schedules.html", {"nav": "schedules", "notice": _notice(request), "series": series,
                                            "include_cancelled": include})


async def workers(request: Request) -> Response:
    tasker = _web(request).tasker
    rows = sorted(await tasker.aworkers(), key=lambda w: w.last_seen, reverse=True)
    return page(request, "workers.html", {"nav": "workers", "notice": _notice(request), "workers": rows, "lease": tasker.lease})


# -- actions (POST only, CSRF-checked) ---------------------------------------------------------

def task_action(verb: str) -> Any:
    """The endpoint of one action on a task: cancel, retry, run-now or delete."""

    async def act(request: Request) -> Response:
        form = await _checked_form(request)
        if isinstance(form, Response):
            return form
        tasker, task_id = _web(request).tasker, request.path_params["task_id"]
        if verb == "delete":
            if await tasker.adelete(task_id):
                return _redirect(request, "/tasks", "deleted")
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
            return _redirect(request, "/tasks")
        return _redirect(request, f"/tasks/{task_id}", notice)

    act.__name__ = f"task_{verb.replace('-', '_')}"
    return act


async def stop_series(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    stopped = await _web(request).tasker.acancel(request.path_params["series_id"])
    return _redirect(request, "/schedules", "series-stopped" if stopped else "series-not-stopped")


def queue_action(pause: bool) -> Any:
    async def act(request: Request) -> Response:
        form = await _checked_form(request)
        if isinstance(form, Response):
            return form
        name = form.get("queue", "")
        if not _is_name(name, "queue"):
            return _redirect(request, "/", "bad-queue")
        tasker = _web(request).tasker
        await (tasker.apause_queue(name) if pause else tasker.aresume_queue(name))
        return _redirect(request, "/", "paused" if pause else "resumed")

    act.__name__ = "pause_queue" if pause else "resume_queue"
    return act


# -- signing in with the token ------------------------------------------------------------------

async def login_page(request: Request) -> Response:
    auth = _web(request).auth
    if auth.identify(request) is not None:
        return _redirect(request, "/")
    status, message = auth.refusal()
    return refuse(request, 401 if auth.token is not None else status, message)


async def login(request: Request) -> Response:
    # Signing in is what makes a session: its form is bound to none (someone who can sign in has the token anyway).
    form = await _checked_form(request, ANONYMOUS)
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
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    response = _redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(request), httponly=True, samesite="strict")
    return response


def routes() -> list[Route]:
    def p(endpoint: Any) -> Any:
        return guard.page(endpoint, refuse)

    return [
        Route("/", p(overview), methods=["GET"]),
        Route("/tasks", p(tasks), methods=["GET"]),
        Route("/tasks/{task_id}", p(task_detail), methods=["GET"]),
        *(Route(f"/tasks/{{task_id}}/{verb}", p(task_action(verb)), methods=["POST"]) for verb in ("cancel", "retry", "run-now", "delete")),
        Route("/schedules", p(schedules), methods=["GET"]),
        Route("/schedules/{series_id}/cancel", p(stop_series), methods=["POST"]),
        Route("/workers", p(workers), methods=["GET"]),
        Route("/queues/pause", p(queue_action(True)), methods=["POST"]),
        Route("/queues/resume", p(queue_action(False)), methods=["POST"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", p(logout), methods=["POST"]),
    ]
