"""tasker.contrib.starlette.lifespan: the Tasker opens and closes with the application, an
embedded worker runs tasks, and a mounted dashboard's own lifespan runs."""
from __future__ import annotations

import contextlib
import warnings

import pytest
from polling import wait_until
from starlette.applications import Starlette
from starlette.routing import Mount

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
from starlette.testclient import TestClient  # noqa: E402

from tasker import TaskStatus
from tasker.contrib.starlette import lifespan
from tasker.web import create_app


def test_embedded_worker_and_mounted_dashboard(app):
    app.register("greet", lambda payload: f"hello {payload}")
    dashboard = create_app(app, token="lifespan-token")
    entered = []
    inner = dashboard.router.lifespan_context

    @contextlib.asynccontextmanager
    async def watched(asgi):
        entered.append("in")
        async with inner(asgi):
            yield
        entered.append("out")

    dashboard.router.lifespan_context = watched
    web = Starlette(routes=[Mount("/tasker", dashboard)], lifespan=lifespan(app, worker=True, concurrency=2, mounted=[dashboard]))
    with TestClient(web, base_url="http://localhost") as client:
        task_id = app.create("greet", "ada")
        task = wait_until(lambda: (t := app.get(task_id)).status.finished and t, timeout=15)
        assert task.status is TaskStatus.SUCCEEDED and task.result == "hello ada"
        assert client.get("/tasker/api/tasks", headers={"Authorization": "Bearer lifespan-token"}).status_code == 200
        assert entered == ["in"]
    assert entered == ["in", "out"]
    assert app.get(task_id).status is TaskStatus.SUCCEEDED   # still usable after the app's shutdown


def test_a_worker_with_no_handlers_is_refused_at_once(app):
    with pytest.raises(RuntimeError, match="needs handlers"):
        lifespan(app, worker=True)
