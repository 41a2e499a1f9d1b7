"""The JSON API under ``/api``: create, get, list, cancel, retry, run now, delete, stats, queues."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import checks
from ..errors import InputError, UnknownTaskError
from ..limits import ERROR_SCAN, MAX_BULK_PER_REQUEST, MAX_COUNTED
from ..task import refusal
from . import guard, openapi
from .guard import Web
from .render import root
from .serialize import jsonable, task_json
from .validation import (
    InvalidInput,
    bulk_request,
    create_request,
    field_problems,
    from_core,
    list_filters,
    parse_json_object,
    read_body,
)


def _web(request: Request) -> Web:
    return request.app.state.web


async def _body(request: Request) -> dict[str, Any]:
    return parse_json_object(await read_body(request, _web(request).body_limit))


async def list_tasks(request: Request) -> Response:
    """A page of tasks, newest first; ``next`` is the ``after`` of the following page."""
    try:
        page = await _web(request).tasker.apage(**list_filters(request), scan=ERROR_SCAN)
    except InputError as exc:
        raise from_core(exc, "query") from None
    return JSONResponse({"tasks": [task_json(t, listed=True) for t in page.tasks], "count": len(page.tasks),
                         "next": page.next, "scan_limited": page.scan_limited})


async def bulk_tasks(request: Request) -> Response:
    """Cancel, retry, run now or delete the matching tasks (at most ``MAX_BULK_PER_REQUEST`` a call);
    with ``dry_run``, only count those the action would change."""
    action, dry_run, filters = bulk_request(await _body(request))
    tasker = _web(request).tasker
    try:
        if dry_run:
            matching = await tasker.acount(**filters, action=action, cap=MAX_COUNTED)
            return JSONResponse({"action": action, "dry_run": True, "matching": matching, "at_least": matching >= MAX_COUNTED})
        changed = await tasker.abulk(action, **filters, limit=MAX_BULK_PER_REQUEST)
        more = changed >= MAX_BULK_PER_REQUEST and await tasker.acount(**filters, action=action, cap=1) > 0
    except InputError as exc:
        raise from_core(exc, "body") from None
    return JSONResponse({"action": action, "changed": changed, "more": more})


async def create_task(request: Request) -> Response:
    type_, payload, options = create_request(await _body(request))
    tasker = _web(request).tasker
    try:
        task_id = await tasker.acreate(type_, payload, **options)
    except (InputError, UnknownTaskError) as exc:  # UnknownTaskError: depends_on names no task
        raise from_core(exc, "body") from None
    task = await tasker.aget(task_id)
    if task is None:  # deleted or cleaned up in the meantime
        return JSONResponse({"detail": f"task {task_id} was created and is already gone"}, 404)
    return JSONResponse(task_json(task), 201, headers={"Location": f"{root(request)}/api/tasks/{task_id}"})


async def get_task(request: Request) -> Response:
    task = await _web(request).tasker.aget(request.path_params["task_id"])
    if task is None:
        return _not_found(request)
    return JSONResponse(task_json(task))


def _not_found(request: Request) -> Response:
    return JSONResponse({"detail": "no task with this id"}, 404)


async def _refused(request: Request, action: str) -> Response:
    """404 for an unknown id, else 409 saying why ``action`` does not apply to the task."""
    task = await _web(request).tasker.aget(request.path_params["task_id"])
    if task is None:
        return _not_found(request)
    why = refusal(action, task.status)
    if action == "retry" and task.status.finished:
        why = "another live task holds its unique key"
    return JSONResponse({"detail": why}, 409)


async def _done(request: Request, **extra: Any) -> Response:
    task_id = request.path_params["task_id"]
    task = await _web(request).tasker.aget(task_id)
    return JSONResponse({"id": task_id, "ok": True, "status": task.status.value if task else None, **extra})


async def cancel_task(request: Request) -> Response:
    tasker, task_id = _web(request).tasker, request.path_params["task_id"]
    if await tasker.acancel(task_id):
        is_task = await tasker.aget(task_id) is not None
        return await _done(request) if is_task else JSONResponse({"id": task_id, "ok": True, "status": "cancelled", "series": True})
    if await tasker.aget(task_id) is None:
        return JSONResponse({"detail": "no queued or running task, nor active series, with this id"}, 404)
    return await _refused(request, "cancel")


async def retry_task(request: Request) -> Response:
    if await _web(request).tasker.aretry(request.path_params["task_id"]):
        return await _done(request)
    return await _refused(request, "retry")


async def run_task_now(request: Request) -> Response:
    if await _web(request).tasker.arun_now(request.path_params["task_id"]):
        return await _done(request)
    return await _refused(request, "run_now")


async def delete_task(request: Request) -> Response:
    task_id = request.path_params["task_id"]
    if await _web(request).tasker.adelete(task_id):
        return JSONResponse({"id": task_id, "ok": True, "status": None})
    return await _refused(request, "delete")


async def stats(request: Request) -> Response:
    return JSONResponse(jsonable(await _web(request).tasker.astats()))


async def _queue_name(request: Request) -> str:
    body = await _body(request)
    problems = field_problems(body, ("queue",), required=("queue",))
    if "queue" in body:
        try:
            checks.name(body["queue"], "queue")
        except InputError as exc:
            problems += from_core(exc, "body").detail
    if problems:
        raise InvalidInput(problems)
    return body["queue"]


async def pause_queue(request: Request) -> Response:
    name = await _queue_name(request)
    await _web(request).tasker.apause_queue(name)
    return JSONResponse({"queue": name, "paused": True})


async def resume_queue(request: Request) -> Response:
    name = await _queue_name(request)
    await _web(request).tasker.aresume_queue(name)
    return JSONResponse({"queue": name, "paused": False})


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi.document(root(request)))


def routes() -> list[Route]:
    """The API's routes (the cron endpoints come first, from ``cron.routes``)."""
    read, write = guard.api, (lambda e: guard.api(e, write=True))
    return [
        Route("/api/openapi.json", read(openapi_json), methods=["GET"]),
        Route("/api/tasks", read(list_tasks), methods=["GET"]),
        Route("/api/tasks", write(create_task), methods=["POST"]),
        Route("/api/stats", read(stats), methods=["GET"]),
        Route("/api/queues/pause", write(pause_queue), methods=["POST"]),
        Route("/api/queues/resume", write(resume_queue), methods=["POST"]),
        Route("/api/tasks/bulk", write(bulk_tasks), methods=["POST"]),   # before /api/tasks/{task_id}
        Route("/api/tasks/{task_id}", read(get_task), methods=["GET"]),
        Route("/api/tasks/{task_id}", write(delete_task), methods=["DELETE"]),
        Route("/api/tasks/{task_id}/cancel", write(cancel_task), methods=["POST"]),
        Route("/api/tasks/{task_id}/retry", write(retry_task), methods=["POST"]),
        Route("/api/tasks/{task_id}/run-now", write(run_task_now), methods=["POST"]),
    ]
