"""The OpenAPI 3 document of the JSON API, served at ``/api/openapi.json``."""
from __future__ import annotations

from typing import Any

from ..limits import (
    EARLIEST_EPOCH,
    ERROR_SCAN,
    LATEST_EPOCH,
    MAX_ATTEMPTS,
    MAX_BULK_PER_REQUEST,
    MAX_CONCURRENCY_LIMIT,
    MAX_COUNTED,
    MAX_CRON_BATCH,
    MAX_DELAY,
    MAX_DEPENDENCIES,
    MAX_LISTED_VALUE_BYTES,
    MAX_NAME_LENGTH,
    MAX_PAGE_SIZE,
    MAX_SELECTED_IDS,
    MAX_TIMEOUT,
    ON_CONFLICT,
    PRIORITY_RANGE,
)
from ..task import BULK_ACTIONS, STATUSES
from .validation import CREATE_FIELDS

# A name: 1-255 characters, not only whitespace, no control characters (what the core accepts).
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"


def _name(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": NAME_PATTERN, "description": description}


def _filter(description: str) -> dict[str, Any]:
    return {"type": "string", "maxLength": MAX_NAME_LENGTH, "pattern": f"^$|{NAME_PATTERN}", "description": description}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        401: "Missing or wrong credentials",
        403: "Refused: a non-loopback client with no credentials configured, or a cookie-authenticated write without a CSRF token",
        404: "No such task",
        409: "The task is not in a state that allows this",
        413: "The body is too large",
        422: "Invalid input; ``detail`` names each field",
        429: "Too many failed authentication attempts from this address; Retry-After says when to try again",
    }
    codes = (*codes, 429) if 401 in codes else codes   # whoever can be refused can be throttled
    return {str(c): _json(_ref("ValidationError" if c == 422 else "Error"), text[c]) for c in codes}


NULLABLE_STRING = {"type": "string", "nullable": True}
NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}
TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"},
           "description": "A task id (a UUID)"}

TASK = {
    "type": "object",
    "required": ["id", "type", "status", "attempts", "max_attempts", "priority", "queue", "run_at", "created_at"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "type": {"type": "string"},
        "payload": {"description": "The JSON value given at creation"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "attempts": {"type": "integer"},
        "max_attempts": {"type": "integer"},
        "priority": {"type": "integer"},
        "queue": {"type": "string"},
        "run_at": {"type": "string", "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": NULLABLE_TIME,
        "finished_at": NULLABLE_TIME,
        "last_error": {**NULLABLE_STRING, "description": "The last attempt's error with its traceback (every failed attempt's is in errors)"},
        "result": {"description": "The handler's return value once succeeded"},
        "unique_key": NULLABLE_STRING,
        "meta": {"type": "object", "nullable": True},
        "timeout": {"type": "number"},
        "retry_delay": {"type": "number", "nullable": True},
        "worker_id": NULLABLE_STRING,
        "cancel_requested": {"type": "boolean"},
        "series_id": NULLABLE_STRING,
        "fire_time": NULLABLE_TIME,
        "progress": {"description": "The latest value the handler reported with ctx.progress()"},
        "pending_dependencies": {"type": "integer"},
        "truncated": {"type": "object", "additionalProperties": {"type": "integer"},
                      "description": f"In a listing only: the values left out for their size (over {MAX_LISTED_VALUE_BYTES} bytes "
                                     "as JSON), with their size in bytes; GET /api/tasks/{id} returns them whole"},
    },
}

TASK_CREATE: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "additionalProperties": False,
    "not": {"required": ["run_at", "delay"], "description": "run_at and delay exclude each other"},
    "properties": {
        "type": _name("The task type (the handler's name)"),
        "payload": {"description": "Any JSON value (no NUL characters); null when absent"},
        "queue": {**_name("Queue name (default: the handler's, or 'default')"), "nullable": True},
        "priority": {"type": "integer", "minimum": PRIORITY_RANGE[0], "maximum": PRIORITY_RANGE[1], "nullable": True},
        "max_attempts": {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS, "nullable": True},
        "delay": {"type": "number", "minimum": 0, "maximum": MAX_DELAY, "nullable": True, "description": "Seconds from now"},
        "run_at": {"nullable": True, "description": "When to run: epoch seconds, or an ISO 8601 date-time (naive means UTC). Not with delay.",
                   "oneOf": [{"type": "number", "minimum": EARLIEST_EPOCH, "maximum": LATEST_EPOCH},
                             {"type": "string", "format": "date-time"}]},
        "unique_key": {**_name("While a task with this key is queued or running, return it instead of creating another"), "nullable": True},
        "depends_on": {"type": "array", "maxItems": MAX_DEPENDENCIES, "nullable": True,
                       "items": {"type": "string", "format": "uuid"}, "description": "Task ids that must succeed first"},
        "timeout": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": MAX_TIMEOUT, "nullable": True},
        "retry_delay": {"type": "number", "minimum": 0, "maximum": MAX_DELAY, "nullable": True},
        "meta": {"type": "object", "nullable": True, "description": "A JSON object stored untouched"},
        "partition_key": {**_name("Its type's and queue's flow limits hold per key (such as 'tenant:42')"), "nullable": True},
        "on_conflict": {"type": "string", "enum": list(ON_CONFLICT), "nullable": True,
                        "description": "With unique_key: 'keep' (default) returns the live holder; 'replace' gives a still-queued "
                                       "holder this payload and run_at (debounce)"},
        "concurrency_limit": {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY_LIMIT, "nullable": True,
                              "description": "At most this many of its type (per partition_key) running when it starts; "
                                             "stands in for the handler's"},
        "rate_limit": {"type": "string", "nullable": True, "pattern": "^ *[1-9][0-9]{0,5} */ *[smh] *$",
                       "description": "At most N starts of its type per second, minute or hour ('100/m') when it starts"},
    },
}
assert set(TASK_CREATE["properties"]) == set(CREATE_FIELDS)

COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
SCHEMAS = {
    "Task": TASK,
    "TaskCreate": TASK_CREATE,
    "TaskList": {"type": "object", "required": ["tasks", "count", "next", "scan_limited"],
                 "properties": {"tasks": {"type": "array", "items": _ref("Task")}, "count": {"type": "integer"},
                                "next": {**NULLABLE_STRING, "description": "Pass as `after` for the next page (null: no more)"},
                                "scan_limited": {"type": "boolean", "description": f"An error search read its {ERROR_SCAN} tasks with an "
                                                 "error before filling the page: `next` resumes it further back"}}},
    "BulkRequest": {
        "type": "object", "required": ["action"], "additionalProperties": False,
        "properties": {
            "action": {"type": "string", "enum": list(BULK_ACTIONS)},
            "status": {"type": "string", "enum": list(STATUSES), "nullable": True},
            "type": {**_name("Only tasks of this type"), "nullable": True},
            "queue": {**_name("Only tasks in this queue"), "nullable": True},
            "error": {**_name("Only tasks whose last error contains this text (any case)"), "nullable": True},
            "series_id": {"type": "string", "format": "uuid", "nullable": True, "description": "Only the runs of this series"},
            "ids": {"type": "array", "items": {"type": "string", "format": "uuid"}, "maxItems": MAX_SELECTED_IDS, "nullable": True,
                    "description": "Only these tasks"},
            "upto": {"type": "string", "format": "uuid", "nullable": True, "description": "None newer than this task"},
            "dry_run": {"type": "boolean", "description": "Only count the tasks the action would change"},
        },
    },
    "BulkResult": {"type": "object", "required": ["action"],
                   "properties": {"action": {"type": "string"}, "changed": {"type": "integer"}, "more": {"type": "boolean"},
                                  "dry_run": {"type": "boolean"}, "matching": {"type": "integer"}, "at_least": {"type": "boolean"}}},
    "ActionResult": {"type": "object", "required": ["id", "ok"],
                     "properties": {"id": {"type": "string"}, "ok": {"type": "boolean"},
                                    "status": {"type": "string", "nullable": True},
                                    "series": {"type": "boolean"}}},
    "Stats": {"type": "object", "required": ["total", "by_status", "by_queue", "paused_queues"],
              "properties": {**{s: {"type": "integer"} for s in STATUSES}, "total": {"type": "integer"},
                             "by_status": COUNTS, "by_queue": {"type": "object", "additionalProperties": COUNTS},
                             "paused_queues": {"type": "array", "items": {"type": "string"}}}},
    "QueueName": {"type": "object", "required": ["queue"], "additionalProperties": False,
                  "properties": {"queue": _name("Queue name")}},
    "Queue": {"type": "object", "required": ["queue", "paused"],
              "properties": {"queue": {"type": "string"}, "paused": {"type": "boolean"}}},
    "PassSummary": {"type": "object", "required": ["claimed", "succeeded", "failed", "retried"],
                    "properties": {k: {"type": "integer"} for k in ("claimed", "succeeded", "failed", "retried", "cancelled", "requeued")}},
    "Cleanup": {"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "integer"}}},
    "Error": {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
    "ValidationError": {
        "type": "object", "required": ["detail"],
        "properties": {"detail": {"type": "array", "items": {
            "type": "object", "required": ["loc", "msg", "type"],
            "properties": {"loc": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
                           "msg": {"type": "string"}, "type": {"type": "string"}}}}},
    },
}


def _action(summary: str, op: str, codes: tuple[int, ...] = (401, 403, 404, 409)) -> dict[str, Any]:
    return {"post": {"operationId": op, "summary": summary, "parameters": [TASK_ID],
                     "responses": {"200": _json(_ref("ActionResult"), "Done"), **_errors(*codes)}}}


CRON_SECURITY: list[dict[str, list[str]]] = [{"cronSecret": []}]


def _cron(summary: str, op: str, result: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    operation = {"summary": summary, "security": CRON_SECURITY, "parameters": parameters,
                 "responses": {"200": _json(_ref(result), "Done"), **_errors(401, 422)}}
    return {"get": {**operation, "operationId": f"{op}Get"}, "post": {**operation, "operationId": f"{op}Post"}}


PATHS: dict[str, Any] = {
    "/api/tasks": {
        "get": {"operationId": "listTasks", "summary": "List tasks, newest first, a page at a time",
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["", *STATUSES]},
                     "description": "Only tasks with this status (empty: any)"},
                    {"name": "type", "in": "query", "schema": _filter("Only tasks of this type (empty: any)")},
                    {"name": "queue", "in": "query", "schema": _filter("Only tasks in this queue (empty: any)")},
                    {"name": "error", "in": "query", "schema": _filter(f"Only tasks whose last error contains this text, any case "
                                                                       f"(reads at most {ERROR_SCAN} tasks with an error a page)")},
                    {"name": "series_id", "in": "query", "schema": {"type": "string", "format": "uuid"},
                     "description": "Only the runs of this recurring series"},
                    {"name": "after", "in": "query", "schema": {"type": "string", "format": "uuid"},
                     "description": "The page starts after this task (the `next` of the previous page)"},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 100}},
                ],
                "responses": {"200": _json(_ref("TaskList"), "The tasks"), **_errors(401, 403, 422)}},
        "post": {"operationId": "createTask", "summary": "Create a task",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("TaskCreate")}}},
                 "responses": {"201": _json(_ref("Task"), "Created (or the existing task with the same unique_key)"),
                               **_errors(401, 403, 413, 422)}},
    },
    "/api/tasks/cron": _cron("Run one process_queue pass (for an external cron)", "cronPass", "PassSummary", [
        {"name": "batch_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_CRON_BATCH, "default": 100},
         "description": "Claim at most this many due tasks"}]),
    "/api/tasks/cleanup": _cron("Delete finished tasks (for an external cron)", "cronCleanup", "Cleanup", [
        {"name": "older_than", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": MAX_DELAY},
         "description": "Only tasks finished more than this many seconds ago (default: all finished tasks)"}]),
    "/api/tasks/bulk": {"post": {
        "operationId": "bulkTasks",
        "summary": f"Cancel, retry, run now or delete every matching task the action applies to (at most {MAX_BULK_PER_REQUEST} "
                   f"a call: `more` says whether to call again); `dry_run` counts them instead (up to {MAX_COUNTED})",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("BulkRequest")}}},
        "responses": {"200": _json(_ref("BulkResult"), "Done (or counted)"), **_errors(401, 403, 413, 422)}}},
    "/api/tasks/{task_id}": {
        "get": {"operationId": "getTask", "summary": "One task", "parameters": [TASK_ID],
                "responses": {"200": _json(_ref("Task"), "The task"), **_errors(401, 403, 404)}},
        "delete": {"operationId": "deleteTask", "summary": "Delete a task that is not running", "parameters": [TASK_ID],
                   "responses": {"200": _json(_ref("ActionResult"), "Deleted"), **_errors(401, 403, 404, 409)}},
    },
    "/api/tasks/{task_id}/cancel": _action("Cancel a queued or running task, or stop a recurring series", "cancelTask"),
    "/api/tasks/{task_id}/retry": _action("Queue a failed or cancelled task again", "retryTask"),
    "/api/tasks/{task_id}/run-now": _action("Make a queued task due now", "runTaskNow"),
    "/api/stats": {"get": {"operationId": "stats", "summary": "Task counts by status and queue",
                           "responses": {"200": _json(_ref("Stats"), "Counts"), **_errors(401, 403)}}},
    "/api/queues/pause": {"post": {"operationId": "pauseQueue", "summary": "Stop workers from starting tasks of a queue",
                                   "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("QueueName")}}},
                                   "responses": {"200": _json(_ref("Queue"), "Paused"), **_errors(401, 403, 413, 422)}}},
    "/api/queues/resume": {"post": {"operationId": "resumeQueue", "summary": "Let workers take tasks of a queue again",
                                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("QueueName")}}},
                                    "responses": {"200": _json(_ref("Queue"), "Resumed"), **_errors(401, 403, 413, 422)}}},
}


def document(root_path: str = "") -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Tasker", "version": "1",
                 "description": "Create, inspect and control Tasker tasks. Authenticate with "
                                "`Authorization: Bearer <token>`; the cron endpoints take the cron secret instead."},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "The dashboard token"},
                "basicAuth": {"type": "http", "scheme": "basic"},
                "cronSecret": {"type": "http", "scheme": "bearer", "description": "TASKER_CRON_SECRET"},
            },
        },
        "security": [{"bearerAuth": []}, {"basicAuth": []}],
    }
    if root_path:
        doc["servers"] = [{"url": root_path}]
    return doc
