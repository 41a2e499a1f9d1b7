"""A Flask app that enqueues a task per sign-up, with Tasker's dashboard served beside it at
/tasker/ (the dashboard is an ASGI app: a2wsgi runs it under any WSGI server).

    python app.py                  # development: Flask's server plus a worker thread
    gunicorn app:application       # production: the WSGI app...
    tasker worker app:tasks        # ...and workers in their own processes
"""
import asyncio
import os
import threading

from a2wsgi import ASGIMiddleware
from flask import Flask, abort, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from tasker import Tasker
from tasker.web import create_app

tasks = Tasker(os.environ.get("TASKER_URL", "sqlite:///tasker.db"))


@tasks.task(max_attempts=3)
def send_welcome(email: str) -> str:
    return f"welcome mail sent to {email}"


flask_app = Flask(__name__)


@flask_app.post("/signup")
def signup():
    return {"task_id": send_welcome.defer(request.args["email"])}


@flask_app.get("/tasks/<task_id>")
def task_status(task_id):
    task = tasks.get(task_id)
    if task is None:
        abort(404)
    return {"status": task.status.value, "result": task.result}


# The WSGI application: Flask, with the dashboard at /tasker/ (loopback clients only,
# unless TASKER_DASHBOARD_TOKEN is set).
application = DispatcherMiddleware(flask_app, {
    "/tasker": ASGIMiddleware(create_app(tasks, token=os.environ.get("TASKER_DASHBOARD_TOKEN"))),
})


def run_worker_thread() -> threading.Thread:
    """A worker in this process, for development (production runs `tasker worker app:tasks`)."""
    thread = threading.Thread(target=asyncio.run, args=(tasks.arun_worker(concurrency=4),), daemon=True, name="tasker-worker")
    thread.start()
    return thread


if __name__ == "__main__":
    from werkzeug.serving import run_simple

    tasks.migrate()
    run_worker_thread()
    run_simple("127.0.0.1", int(os.environ.get("PORT", "5000")), application)
