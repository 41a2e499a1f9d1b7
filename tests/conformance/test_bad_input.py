"""API.md's "Bad input": each refused before anything is stored, with a message naming the problem."""
from __future__ import annotations

import asyncio
import math
from datetime import datetime

import pytest

from tasker import Tasker


class NotJson:
    pass


CASES = [
    (TypeError, "payload is not JSON-serializable", dict(type="t", payload={"x": NotJson()})),
    (TypeError, "payload is not JSON-serializable", dict(type="t", payload={1, 2})),
    (TypeError, "payload is not JSON-serializable", dict(type="t", payload=datetime(2024, 1, 1))),
    (TypeError, "payload is not JSON-serializable", dict(type="t", payload=b"bytes")),
    (TypeError, "payload is not JSON-serializable", dict(type="t", payload={"n": math.nan})),
    (TypeError, "payload is not JSON-serializable", dict(type="t", payload=[math.inf])),
    (ValueError, "task type must not be empty", dict(type="", payload=None)),
    (ValueError, "task type must not be empty", dict(type="   ", payload=None)),
    (ValueError, "task type is 256 characters long; the limit is 255", dict(type="x" * 256, payload=None)),
    (TypeError, "task type must be a string", dict(type=None, payload=None)),
    (ValueError, "task type must not contain control characters", dict(type="evil\nINFO forged line", payload=None)),
    (ValueError, "queue must not contain control characters", dict(type="t", queue="q\x1b[31m")),
    (ValueError, "unique_key must not contain control characters", dict(type="t", unique_key="a\x00b")),
    (TypeError, "task type must be a string", dict(type=42, payload=None)),
    (ValueError, "max_attempts must be >= 1, got 0", dict(type="t", max_attempts=0)),
    (ValueError, "max_attempts must be >= 1, got -2", dict(type="t", max_attempts=-2)),
    (TypeError, "max_attempts must be an integer", dict(type="t", max_attempts=2.5)),
    (TypeError, "max_attempts must be an integer", dict(type="t", max_attempts=True)),
    (ValueError, "timeout must be > 0 seconds", dict(type="t", timeout=0)),
    (ValueError, "timeout must be a finite number", dict(type="t", timeout=-1)),
    (TypeError, "priority must be an integer", dict(type="t", priority="high")),
    (ValueError, "queue must not be empty", dict(type="t", queue="")),
    (TypeError, "meta must be a JSON object", dict(type="t", meta=[1, 2])),
    (TypeError, "meta is not JSON-serializable", dict(type="t", meta={"x": NotJson()})),
    (ValueError, "give run_at or delay, not both", dict(type="t", run_at=0, delay=1)),
    (ValueError, "run_at must fall between the years 1 and 9999", dict(type="t", run_at=1e12)),
    (ValueError, "delay must be at most", dict(type="t", delay=1e12)),
    (ValueError, "payload contains a NUL character", dict(type="t", payload={"k": "a\x00b"})),
    (ValueError, "meta contains a NUL character", dict(type="t", meta={"k": "\x00"})),
    (ValueError, "payload contains a lone surrogate", dict(type="t", payload="\ud800")),
    (TypeError, "run_at must be a datetime or epoch seconds", dict(type="t", run_at="tomorrow")),
    (ValueError, "delay must be a finite number of seconds >= 0", dict(type="t", delay=-5)),
    (ValueError, "unique_key must not be empty", dict(type="t", unique_key="")),
    (TypeError, "unknown task option", dict(type="t", colour="blue")),
]


def _call(app, kwargs):
    kwargs = dict(kwargs)
    return app.create(kwargs.pop("type"), kwargs.pop("payload", None), **kwargs)


@pytest.mark.parametrize("error, message, kwargs", CASES, ids=[c[1][:40] + str(i) for i, c in enumerate(CASES)])
def test_create_refuses_bad_input_and_stores_nothing(app, error, message, kwargs):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        _call(app, kwargs)
    assert app.stats()["total"] == 0


def test_oversized_payload_is_refused(store_url):
    app = Tasker(store_url, max_payload_bytes=1000)
    app.migrate()
    try:
        with pytest.raises(ValueError, match=r"payload is \d+ bytes as JSON; the limit is 1000 bytes"):
            app.create("big", {"blob": "x" * 2000})
        app.create("small", {"blob": "x" * 100})
        assert app.stats()["total"] == 1
    finally:
        app.close()


def test_default_payload_limit_is_one_mebibyte(app):
    with pytest.raises(ValueError, match="the limit is 1048576 bytes"):
        app.create("big", "x" * (1024 * 1024 + 1))
    assert app.stats()["total"] == 0


def test_create_many_rejects_the_whole_batch_naming_the_position(app):
    payloads = [{"i": i} for i in range(10)]
    payloads[7] = {"bad": NotJson()}
    with pytest.raises(TypeError, match="payload at position 7: payload is not JSON-serializable"):
        app.create_many("batch", payloads)
    with pytest.raises(ValueError, match="max_attempts must be >= 1"):
        app.create_many("batch", [1, 2], max_attempts=0)
    with pytest.raises(TypeError, match="payloads must be a list"):
        app.create_many("batch", "abc")
    assert app.stats()["total"] == 0


@pytest.mark.parametrize("position", [0, 57, 450, 999])   # first row, first chunk, a later chunk, the last row
@pytest.mark.parametrize("bad, error, text", [
    ({"bad": NotJson()}, TypeError, "not JSON-serializable"),
    ("nul \x00", ValueError, "NUL"),
    ("x" * (1024 * 1024 + 1), ValueError, "the limit is"),
])
def test_a_bad_payload_anywhere_in_a_big_batch_stores_nothing(app, position, bad, error, text):
    payloads = [{"i": i} for i in range(1000)]
    payloads[position] = bad
    with pytest.raises(error, match=f"payload at position {position}: .*{text}"):
        app.create_many("batch", payloads)
    with pytest.raises(error, match=f"payload at position {position}"):
        asyncio.run(_acreate_many_then_close(app, payloads))
    assert app.stats()["total"] == 0
    assert len(app.create_many("batch", [{"i": i} for i in range(1000)])) == 1000   # the store is fine after


async def _acreate_many_then_close(app, payloads):
    try:
        await app.acreate_many("batch", payloads)
    finally:
        await app.aclose()


def test_bad_handler_registrations(app):
    with pytest.raises(ValueError, match="max_attempts must be >= 1"):
        app.register("h", lambda p: None, max_attempts=0)
    with pytest.raises(TypeError, match="must take \\(payload\\) or \\(payload, ctx\\)"):
        app.register("h", lambda: None)
    with pytest.raises(TypeError, match="unknown handler option"):
        app.register("h", lambda p: None, retries=3)
    with pytest.raises(ValueError, match="task type must not be empty"):
        app.register("", lambda p: None)
    assert "h" not in app.handlers


def test_bad_arguments_to_inspecting_methods(app):
    with pytest.raises(ValueError, match="unknown status 'done'"):
        app.list(status="done")
    with pytest.raises(ValueError, match="limit must be >= 1"):
        app.list(limit=0)
    with pytest.raises(TypeError, match="task id must be a string"):
        app.get(123)
    assert app.get("not-an-id") is None
    assert app.cancel("not-an-id") is False
    with pytest.raises(ValueError, match="older_than must be a finite number"):
        app.cleanup(-1)


def test_unreachable_postgres_says_why():
    from tasker import TaskerError

    app = Tasker("postgresql://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(TaskerError, match="cannot connect to PostgreSQL at postgresql://postgres@127.0.0.1:1/nowhere: .*refused"):
        app.create("x")
    app.close()


def test_bad_urls():
    with pytest.raises(ValueError, match="unsupported Tasker URL 'mysql://x'"):
        Tasker("mysql://x")
    with pytest.raises(ValueError, match="schema 'Bad-Name' is not a valid name"):
        Tasker("postgresql://localhost/db?schema=Bad-Name")
