"""Helpers shared by the web tests (importable: tests/web is on sys.path while they run)."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

from polling import wait_until
from starlette.testclient import TestClient

LOCAL = {"base_url": "http://127.0.0.1", "client": ("127.0.0.1", 50000)}
REMOTE = {"base_url": "http://tasker.example.com", "client": ("203.0.113.5", 1234)}
TOKEN = "t0ken-for-tests-4f9c2a"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CSRF_FIELD = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: TestClient, path: str = "/", **kwargs: Any) -> str:
    """Load a page (which sets the CSRF cookie) and return the token its forms carry."""
    response = client.get(path, **kwargs)
    found = CSRF_FIELD.search(response.text)
    assert found, f"no CSRF field on {path} ({response.status_code})"
    return found.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, headers: dict[str, str] | None = None) -> int | None:
    """The status of GET ``url``, or None when nothing answers."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@contextlib.contextmanager
def running_dashboard(store_url: str, log: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``tasker dashboard`` in a subprocess on a free loopback port; yields its base URL."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("TASKER_DASHBOARD_TOKEN", "TASKER_CRON_SECRET")}
    environment.update(env or {})
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "tasker", "dashboard", "--url", store_url, "--port", str(port),
                                   "--log-level", "warning", *args], stdout=out, stderr=subprocess.STDOUT, env=environment)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: server.poll() is not None or http_status(base + "/static/tasker.css") == 200,
                       timeout=30, message="tasker dashboard to answer")
            assert server.poll() is None, f"tasker dashboard exited: {log.read_text()}"
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
