"""Fixtures for the web tests: the ASGI app over the shared ``app`` Tasker, HTTP clients, CSRF tokens.

Clients are loopback (127.0.0.1 browsing http://127.0.0.1) unless asked to be
remote (203.0.113.5, a documentation address, browsing a public name).
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Iterator

import pytest

# Starlette 1.x prefers the httpx2 package for TestClient; httpx still works.
HTTPX_WARNING = "ignore:Using `httpx` with `starlette.testclient` is deprecated"
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
from starlette.testclient import TestClient  # noqa: E402
from webtools import LOCAL, REMOTE  # noqa: E402

from tasker.web import create_app  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", HTTPX_WARNING)


@pytest.fixture
def make_client(app) -> Iterator[Callable[..., TestClient]]:
    """``make_client(remote=False, **create_app_options)``: a started TestClient (lifespan run)."""
    clients: list[TestClient] = []

    def make(remote: bool = False, where: dict[str, Any] | None = None, **options: Any) -> TestClient:
        client = TestClient(create_app(app, **options), follow_redirects=False, **(where or (REMOTE if remote else LOCAL)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def local(make_client) -> TestClient:
    """A loopback client of an app with no credentials configured."""
    return make_client()
