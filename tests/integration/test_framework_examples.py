"""The FastAPI and Flask examples, served for real: an HTTP request enqueues, a worker runs
the task, and the dashboard answers beside the application."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from polling import wait_until

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(args: list[str], cwd: Path, port: int, tmp_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKER_")}
    env.update(TASKER_URL=f"sqlite:///{tmp_path / 'tasks.db'}", PORT=str(port))
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1.0)
        return True
    except httpx.TransportError:
        return False


def sign_up_and_see_it_run(base: str) -> None:
    wait_until(lambda: answers(base + "/tasker/"), timeout=30, message="the server to answer")
    created = httpx.post(base + "/signup", params={"email": "ada@example.com"}, timeout=10)
    assert created.status_code == 200, created.text
    task_id = created.json()["task_id"]
    done = wait_until(lambda: (r := httpx.get(f"{base}/tasks/{task_id}", timeout=10).json())["status"] == "succeeded" and r,
                      timeout=30, message="the task to succeed")
    assert done["result"] == "welcome mail sent to ada@example.com"
    dashboard = httpx.get(base + "/tasker/", timeout=10)
    assert dashboard.status_code == 200 and "Tasker" in dashboard.text
    api = httpx.get(f"{base}/tasker/api/tasks/{task_id}", timeout=10)
    assert api.status_code == 200 and api.json()["status"] == "succeeded"


def stop(server: subprocess.Popen) -> str:
    server.send_signal(signal.SIGINT)
    try:
        output, _ = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        output, _ = server.communicate()
    return output


def test_fastapi_example(tmp_path: Path):
    pytest.importorskip("fastapi")
    port = free_port()
    server = serve([sys.executable, "-m", "uvicorn", "app:api", "--port", str(port)], EXAMPLES / "fastapi_app", port, tmp_path)
    try:
        sign_up_and_see_it_run(f"http://127.0.0.1:{port}")
    finally:
        output = stop(server)
    assert "Application shutdown complete" in output, output


def test_flask_example(tmp_path: Path):
    pytest.importorskip("flask")
    pytest.importorskip("a2wsgi")
    port = free_port()
    server = serve([sys.executable, "app.py"], EXAMPLES / "flask_app", port, tmp_path)
    try:
        sign_up_and_see_it_run(f"http://127.0.0.1:{port}")
    finally:
        stop(server)


@pytest.mark.parametrize("db", ["postgres", "sqlite"])
def test_django_example_tests_pass(db: str, tmp_path: Path, request):
    pytest.importorskip("django")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKER_", "POSTGRES_", "DJANGO_"))}
    if db == "postgres":
        base = request.getfixturevalue("pg_url").split("?")[0]
        env["POSTGRES_URL"] = base.rsplit("/", 1)[0] + f"/tasker_example_{os.getpid()}"
    else:
        env["TASKER_URL"] = f"sqlite:///{tmp_path / 'tasks.db'}"
    done = subprocess.run([sys.executable, "manage.py", "test", "--noinput"], cwd=EXAMPLES / "django_project",
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ran 1 test" in done.stderr and "OK" in done.stderr
