"""A FastAPI app that enqueues a task per sign-up, runs them on an embedded worker and
serves Tasker's dashboard at /tasker/ (loopback clients only, unless TASKER_DASHBOARD_TOKEN
is set).

    uvicorn app:api
"""
import os

from fastapi import FastAPI, HTTPException

from tasker import Tasker
from tasker.contrib.fastapi import lifespan
from tasker.web import create_app

tasks = Tasker(os.environ.get("TASKER_URL", "sqlite:///tasker.db"))


@tasks.task(max_attempts=3)
def send_welcome(email: str) -> str:
    return f"welcome mail sent to {email}"


dashboard = create_app(tasks, token=os.environ.get("TASKER_DASHBOARD_TOKEN"))
api = FastAPI(lifespan=lifespan(tasks, migrate=True, worker=True, concurrency=4, mounted=[dashboard]))
api.mount("/tasker", dashboard)


@api.post("/signup")
async def signup(email: str) -> dict:
    task_id = await send_welcome.adefer(email)
    return {"task_id": task_id}


@api.get("/tasks/{task_id}")
async def task_status(task_id: str) -> dict:
    task = await tasks.aget(task_id)
    if task is None:
        raise HTTPException(404, "no such task")
    return {"status": task.status.value, "result": task.result}
