"""The pytest plugin (entry point ``pytest11``): fixtures for testing tasks in your own suite.

- ``tasker_isolate``: ``tasker_isolate(app)`` points your app at a fresh store for the test
  (in memory, or PostgreSQL with ``--tasker-url`` / ``TASKER_TEST_URL``: a schema of its own).
- ``tasker_inline``: ``tasker_inline(app)`` makes each task the test creates run at once.
- ``tasker_app``: a fresh ``Tasker`` on such a store, for tests that register handlers themselves.

>>> def test_signup_sends_a_welcome(tasker_isolate):
...     app = tasker_isolate(myapp.tasks.app)
...     signup("ada@example.com")
...     testing.assert_enqueued(app, send_welcome, kwargs={"email": "ada@example.com"})
...     assert testing.drain(app).succeeded == 1
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator

import pytest

from . import testing
from .app import Tasker

DEFAULT_URL = "sqlite:///:memory:"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("tasker").addoption(
        "--tasker-url", default=None, metavar="URL",
        help=f"store for the tasker fixtures [env: TASKER_TEST_URL; default {DEFAULT_URL}]; PostgreSQL gets a schema per test",
    )


@pytest.fixture
def tasker_url(request: pytest.FixtureRequest) -> str:
    """The store the fixtures isolate tests in."""
    return request.config.getoption("--tasker-url") or os.environ.get("TASKER_TEST_URL") or DEFAULT_URL


@pytest.fixture
def tasker_isolate(tasker_url: str) -> Iterator[Callable[[Tasker], Tasker]]:
    """``tasker_isolate(app)``: ``app`` on a fresh, migrated store until the test ends."""
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(testing.isolate(app, tasker_url))


@pytest.fixture
def tasker_inline() -> Iterator[Callable[..., Tasker]]:
    """``tasker_inline(app, raise_errors=True)``: each task the test creates runs at once."""
    with contextlib.ExitStack() as stack:
        yield lambda app, **options: stack.enter_context(testing.inline(app, **options))


@pytest.fixture
def tasker_app(tasker_isolate: Callable[[Tasker], Tasker], tasker_url: str) -> Any:
    """A fresh ``Tasker`` on an isolated store."""
    return tasker_isolate(Tasker(tasker_url))
