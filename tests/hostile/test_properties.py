"""Property-based: any input to create / create_many / POST /api/tasks is either stored whole and
read back alike by get, list, the CLI and the web pages, or refused with an error naming the
field, with nothing stored. Both stores, real I/O (so the example counts stay modest)."""
from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tasker import InputError, Tasker
from tasker.cli import cli
from tasker.web import create_app

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])

def mostly(valid: st.SearchStrategy, hostile: st.SearchStrategy) -> st.SearchStrategy:
    """Five valid values for each hostile one: enough of both to test storing and refusing.
    (``one_of`` would flatten nested choices and weigh each equally.)"""
    return st.integers(0, 5).flatmap(lambda n: hostile if n == 0 else valid)


# Text of every kind: control characters, NUL, lone surrogates, bidi controls, emoji.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=20)
TEXT = mostly(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20), ANY_TEXT)
NAME = mostly(st.from_regex(r"[A-Za-z0-9_.:-]{1,40}", fullmatch=True), st.one_of(ANY_TEXT, st.integers(), st.just("x" * 256)))
NUMBERS = mostly(st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False, allow_infinity=False)),
                 st.one_of(st.floats(), st.integers(min_value=10**4299, max_value=10**4301)))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSONISH = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.one_of(TEXT, st.integers(-5, 5)), children, max_size=4),
), max_leaves=12)
NOT_JSON = st.one_of(st.sets(st.integers(), max_size=2), st.just(b"bytes"), st.just(object()),
                     st.just(datetime(2030, 1, 1)), st.just(Decimal("1.5")))
PAYLOADS = mostly(JSONISH, st.one_of(NOT_JSON, st.lists(NOT_JSON, max_size=1)))
ZONES = st.one_of(st.none(), st.timezones(), st.just(timezone(timedelta(hours=-14))), st.just(timezone(timedelta(hours=14))))
WHEN = mostly(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=ZONES),
              st.one_of(st.floats(), st.integers(min_value=-(10**13), max_value=10**13), st.datetimes(timezones=ZONES)))
SECONDS = mostly(st.one_of(st.floats(min_value=0.001, max_value=10**6), st.integers(min_value=1, max_value=10**6)),
                 st.one_of(st.floats(), st.integers(min_value=-10, max_value=10**11), st.timedeltas()))
OPTIONS = st.fixed_dictionaries({}, optional={
    "queue": NAME,
    "priority": mostly(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.one_of(st.integers(), st.booleans(), ANY_TEXT)),
    "max_attempts": mostly(st.integers(min_value=1, max_value=100), st.one_of(st.integers(min_value=-5, max_value=20_000), st.floats())),
    "unique_key": NAME,
    "timeout": SECONDS,
    "delay": SECONDS,
    "run_at": WHEN,
    "retry_delay": SECONDS,
    "meta": mostly(st.dictionaries(TEXT, JSONISH, max_size=3), JSONISH),
})
TYPES = NAME


def as_json_value(value: Any) -> Any:
    """A JSON value as JSON sees it: numbers by their value (PostgreSQL's jsonb writes 1e300 as
    1 followed by 300 zeros, and 1.0 may come back as 1), keys as strings, last duplicate wins."""
    return json.loads(json.dumps(value), parse_float=Decimal, parse_int=Decimal)


def assert_refused_cleanly(exc: BaseException) -> None:
    assert isinstance(exc, InputError), f"{type(exc).__name__}: {exc}"
    event(f"refused: {exc.problems[0].field}")
    assert isinstance(exc, (TypeError, ValueError)) and str(exc)
    assert all(p.field and p.message for p in exc.problems)


def readable_everywhere(app: Tasker, web: TestClient, store_url: str, task_id: str, payload: Any, meta: Any) -> None:
    event("stored")
    task = app.get(task_id)
    assert task is not None
    assert as_json_value(task.payload) == as_json_value(payload)
    if meta is not None:
        assert as_json_value(task.meta) == as_json_value(meta)
    assert task_id in {t.id for t in app.list(limit=1000)}
    shown = CliRunner().invoke(cli, ["show", task_id, "--json", "--url", store_url])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["id"] == task_id
    assert CliRunner().invoke(cli, ["list", "--url", store_url]).exit_code == 0
    assert web.get(f"/api/tasks/{task_id}").status_code == 200
    assert web.get(f"/tasks/{task_id}").status_code == 200
    assert web.get("/tasks").status_code == 200


@pytest.fixture
def web(app: Tasker):
    with TestClient(create_app(app), base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as client:
        yield client


@SETTINGS
@given(type_=TYPES, payload=PAYLOADS, options=OPTIONS)
def test_create_stores_whole_or_refuses_cleanly(app: Tasker, web: TestClient, store_url: str, type_: Any, payload: Any, options: dict):
    before = app.stats()["total"]
    try:
        task_id = app.create(type_, payload, **options)
    except Exception as exc:
        assert_refused_cleanly(exc)
        assert app.stats()["total"] == before
        return
    readable_everywhere(app, web, store_url, task_id, payload, options.get("meta"))
    app.delete(task_id)   # keep unique keys and listings small for the next example


@SETTINGS
@given(payloads=st.lists(PAYLOADS, min_size=1, max_size=6), options=OPTIONS)
def test_create_many_stores_the_whole_batch_or_nothing(app: Tasker, web: TestClient, store_url: str, payloads: list, options: dict):
    options.pop("unique_key", None)   # one key for a whole batch makes a batch of one
    before = app.stats()["total"]
    try:
        ids = app.create_many("t", payloads, **options)
    except Exception as exc:
        assert_refused_cleanly(exc)
        assert app.stats()["total"] == before
        return
    assert len(ids) == len(payloads) and app.stats()["total"] == before + len(ids)
    readable_everywhere(app, web, store_url, ids[-1], payloads[-1], options.get("meta"))
    for task_id in ids:
        app.delete(task_id)


HTTP_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)),
                           lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)),
                           max_leaves=10)
HTTP_OPTIONS = st.fixed_dictionaries({}, optional={
    "payload": HTTP_VALUES,
    "queue": mostly(st.from_regex(r"[a-z]{1,12}", fullmatch=True), HTTP_VALUES),
    "priority": mostly(st.integers(min_value=-100, max_value=100), HTTP_VALUES),
    "max_attempts": mostly(st.integers(min_value=1, max_value=10), HTTP_VALUES),
    "delay": mostly(st.floats(min_value=0, max_value=10**6), HTTP_VALUES),
    "run_at": mostly(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.isoformat()),
                     st.one_of(HTTP_VALUES, st.text(max_size=30))),
    "unique_key": mostly(st.from_regex(r"[a-z:0-9]{1,20}", fullmatch=True), HTTP_VALUES),
    "timeout": mostly(st.floats(min_value=0.01, max_value=10**5), HTTP_VALUES),
    "meta": mostly(st.dictionaries(st.text(max_size=8), HTTP_VALUES, max_size=3), HTTP_VALUES),
    "colour": HTTP_VALUES,
})
BODIES = st.builds(lambda options, type_: {**options, "type": type_} if type_ is not None else options, HTTP_OPTIONS,
                   mostly(st.from_regex(r"[a-z_.]{1,30}", fullmatch=True), st.one_of(st.none(), HTTP_VALUES)))


@SETTINGS
@given(body=BODIES)
def test_the_json_api_stores_whole_or_answers_422(app: Tasker, web: TestClient, store_url: str, body: dict):
    before = app.stats()["total"]
    token = web.get("/").text.split('name="csrf-token" content="')[1].split('"')[0]
    response = web.post("/api/tasks", content=json.dumps(body, allow_nan=False), headers={"X-CSRF-Token": token,
                                                                                         "Content-Type": "application/json"})
    assert response.status_code in (201, 422, 413), (response.status_code, response.text)
    if response.status_code != 201:
        detail = response.json()["detail"]
        event(f"refused: {detail[0]['loc']}")
        assert detail and all(d["loc"] and d["msg"] for d in detail)
        assert app.stats()["total"] == before
        return
    task_id = response.json()["id"]
    readable_everywhere(app, web, store_url, task_id, body.get("payload"), body.get("meta"))
    app.delete(task_id)


def test_the_normalisation_compares_json_values_not_python_types():
    assert as_json_value({1: 1e300, "x": [1.0]}) == as_json_value({"1": 10**300, "x": [1]})
    assert not math.isnan(float(as_json_value(0.5)))
