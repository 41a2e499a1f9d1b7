"""The Django integration in a real Django project (tests/django_project), run by Django's own
test runner: on the django-tasks backport with this venv's Django (Python 3.11), and on
Django 6's ``django.tasks`` in a Python 3.12 venv this test builds once (.venv-django6), each
on PostgreSQL (Tasker sharing Django's database and transactions) and on SQLite."""
from __future__ import annotations

import glob
import hashlib
import os
import shutil
import signal
import threading
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from polling import wait_until

from tasker import Tasker

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "tests" / "django_project"
DJANGO6_VENV = ROOT / ".venv-django6"
DJANGO6_REQUIREMENT = "django>=6.0"


def python312() -> str | None:
    found = [p for p in [shutil.which("python3.12"), *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))] if p]
    for candidate in found:
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="session")
def django6_python() -> str:
    """A Python 3.12 venv with Django 6 and this project installed (editable), made once and
    reused while pyproject.toml is unchanged."""
    python = DJANGO6_VENV / "bin" / "python"
    stamp = DJANGO6_VENV / ".tasker-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + DJANGO6_REQUIREMENT.encode()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return str(python)
    base = python312()
    if base is None:
        pytest.skip("no Python 3.12 on this machine (pyenv install 3.12): Django 6 needs it")
    if not python.exists():
        subprocess.run([base, "-m", "venv", str(DJANGO6_VENV)], check=True, capture_output=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           "-e", str(ROOT), DJANGO6_REQUIREMENT], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    stamp.write_text(want)
    return str(python)


def environment(db: str, tmp_path: Path, pg_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKER_URL", "DJANGO_"))}
    env["DJANGO_DB"] = db
    env["DJANGO_DB_NAME"] = f"tasker_dj_{uuid.uuid4().hex[:12]}" if db == "postgres" else str(tmp_path / "django.sqlite3")
    if pg_url:
        env["TASKER_TEST_DATABASE_URL"] = pg_url
    if db == "sqlite":
        env["TASKER_URL"] = f"sqlite:///{tmp_path / 'tasks.db'}"
    return env


def manage(python: str, env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([python, "manage.py", *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=timeout)


def run_django_tests(python: str, db: str, tmp_path: Path, request) -> str:
    pg_url = request.getfixturevalue("pg_url") if db == "postgres" else None
    done = manage(python, environment(db, tmp_path, pg_url), "test", "shop", "--noinput", "-v", "1")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Ran 16 tests" in output, output
    return output


@pytest.mark.parametrize("db", ["postgres", "sqlite"])
def test_backport_on_django_5(db: str, tmp_path: Path, request):
    pytest.importorskip("django_tasks")
    output = run_django_tests(sys.executable, db, tmp_path, request)
    assert ("skipped=2" in output) == (db == "sqlite")   # the same-transaction tests need PostgreSQL


@pytest.mark.parametrize("db", ["postgres", "sqlite"])
def test_django_6_tasks(db: str, tmp_path: Path, request, django6_python: str):
    version = subprocess.run([django6_python, "-c", "import django, django.tasks; print(django.VERSION[0])"],
                             capture_output=True, text=True)
    assert version.stdout.strip() == "6", version.stderr
    run_django_tests(django6_python, db, tmp_path, request)


def test_management_commands_run_a_worker(tmp_path: Path):
    env = environment("sqlite", tmp_path, None)
    migrated = manage(sys.executable, env, "tasker_migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "Tasker schema ready" in migrated.stdout
    enqueued = manage(sys.executable, env, "shell", "-c", "from shop.tasks import add; print(add.enqueue(20, 22).id)")
    assert enqueued.returncode == 0, enqueued.stderr
    task_id = enqueued.stdout.strip().splitlines()[-1]
    worker = subprocess.Popen([sys.executable, "manage.py", "tasker_worker", "--concurrency", "2", "--queue", "default"],
                              cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with Tasker(env["TASKER_URL"]) as app:
            task = wait_until(lambda: (t := app.get(task_id)) is not None and t.status.finished and t, timeout=30)
            assert task.status == "succeeded" and task.result == 42
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "task type(s)" in err


def test_worker_reloads_when_a_file_changes(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    env = environment("sqlite", tmp_path, None)
    assert manage(sys.executable, env, "tasker_migrate").returncode == 0
    # Its own process group: the reloader's parent and child are stopped together.
    worker = subprocess.Popen([sys.executable, "manage.py", "tasker_worker", "--reload"], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(worker.stdout), daemon=True)
    reader.start()

    def started() -> int:
        return sum("Tasker worker on" in line for line in list(lines))

    def run_add(app: Tasker, a: int, b: int) -> object:
        code = f"from shop.tasks import add; print(add.enqueue({a}, {b}).id)"
        done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=project, env=env,
                              capture_output=True, text=True, timeout=60)
        task_id = done.stdout.strip().splitlines()[-1]
        return wait_until(lambda: (t := app.get(task_id)) is not None and t.status.finished and t, timeout=30).result

    try:
        with Tasker(env["TASKER_URL"]) as app:
            wait_until(lambda: started() == 1, timeout=30)
            assert run_add(app, 1, 2) == 3
            tasks_py = project / "shop" / "tasks.py"
            tasks_py.write_text(tasks_py.read_text().replace("return a + b", "return a + b + 1000"))
            wait_until(lambda: started() == 2, timeout=30, message="the worker to restart")
            assert run_add(app, 3, 4) == 1007     # the new code
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        reader.join(timeout=5)
    assert any("changed: stopping the worker, then reloading" in line for line in lines), "".join(lines)
