"""Typed function tasks (@app.task), payload models and retry control, on both stores."""
from __future__ import annotations

import asyncio
import dataclasses
import enum
import subprocess
import sys
import textwrap
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import pydantic
import pytest

from tasker import Fail, InputError, Tasker, TaskContext, TaskStatus
from tasker.tasks import TaskFunction


class Plan(enum.Enum):
    FREE = "free"
    PRO = "pro"


@dataclasses.dataclass
class Address:
    city: str
    since: date


@dataclasses.dataclass
class Customer:
    id: UUID
    address: Address
    tags: list[str]


class Invoice(pydantic.BaseModel):
    number: int
    total: Decimal
    issued: datetime
    lines: list[str] = []


SEEN: dict[str, tuple] = {}


def record(name: str, *values: object) -> None:
    SEEN[name] = values


def make_tasks(app: Tasker) -> dict[str, TaskFunction]:
    @app.task
    def typed(when: datetime, day: date, at: time, wait: timedelta, uid: UUID, amount: Decimal, plan: Plan,
              customer: Customer, invoice: Invoice, maybe: Invoice | None = None, many: list[Address] | None = None,
              scores: dict[str, Decimal] | None = None) -> Customer:
        record("typed", when, day, at, wait, uid, amount, plan, customer, invoice, maybe, many, scores)
        assert TaskContext.current().type == typed.name
        return customer

    @app.task(name="typedAsync")
    async def typed_async(when: datetime, invoice: Invoice, *more: Plan, **named: UUID) -> dict:
        record("typed_async", when, invoice, more, named)
        return {"at": when, "count": len(more)}

    return {"typed": typed, "typed_async": typed_async}


ARGS = dict(
    when=datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=2))),
    day=date(2031, 1, 2), at=time(13, 14, 15), wait=timedelta(minutes=3, microseconds=5),
    uid=uuid4(), amount=Decimal("12.3400"), plan=Plan.PRO,
    customer=Customer(uuid4(), Address("Lyon", date(2020, 2, 29)), ["a", "b"]),
    invoice=Invoice(number=7, total=Decimal("99.90"), issued=datetime(2031, 1, 1, tzinfo=timezone.utc), lines=["x"]),
)


def test_every_annotated_type_round_trips_sync_and_async(app: Tasker):
    tasks = make_tasks(app)
    SEEN.clear()
    many = [Address("Oslo", date(2021, 3, 4))]
    first = tasks["typed"].defer(**ARGS, maybe=None, many=many, scores={"a": Decimal("1.5")})
    second = tasks["typed_async"].defer(ARGS["when"], ARGS["invoice"], Plan.FREE, Plan.PRO, user=ARGS["uid"])
    assert app.process_queue().succeeded == 2, [app.get(i).last_error for i in (first, second)]
    when, day, at, wait, uid, amount, plan, customer, invoice, maybe, got_many, scores = SEEN["typed"]
    assert (when, day, at, wait, uid, amount, plan) == tuple(ARGS[k] for k in ("when", "day", "at", "wait", "uid", "amount", "plan"))
    assert type(when) is datetime and when.utcoffset() == timedelta(hours=2) and type(amount) is Decimal and plan is Plan.PRO
    assert customer == ARGS["customer"] and isinstance(customer.address.since, date)
    assert invoice == ARGS["invoice"] and maybe is None and got_many == many and scores == {"a": Decimal("1.5")}
    assert app.get(first).result["address"] == {"city": "Lyon", "since": "2020-02-29"}
    when, invoice, more, named = SEEN["typed_async"]
    assert when == ARGS["when"] and invoice == ARGS["invoice"] and more == (Plan.FREE, Plan.PRO) and named == {"user": ARGS["uid"]}
    assert app.get(second).result == {"at": ARGS["when"].isoformat(), "count": 2}


def test_a_call_that_does_not_fit_stores_nothing(app: Tasker):
    tasks = make_tasks(app)
    with pytest.raises(TypeError, match="missing a required argument"):
        tasks["typed"].defer(ARGS["when"])
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        tasks["typed"].defer(**ARGS, colour="red")
    with pytest.raises(TypeError, match="argument 'customer'.*does not fit Customer"):
        tasks["typed"].defer(**{**ARGS, "customer": 42})
    with pytest.raises(TypeError, match="argument 'when'"):
        tasks["typed"].defer(**{**ARGS, "when": "not a date"})
    with pytest.raises(TypeError, match="unknown task option"):
        tasks["typed"].using(colour="red")
    assert app.stats()["total"] == 0


def test_a_function_task_is_still_a_function_and_has_its_defaults(app: Tasker):
    @app.task(max_attempts=5, queue="emails", priority=3)
    def send_welcome(user_id: int, locale: str = "en") -> str:
        return f"{user_id}:{locale}"

    assert send_welcome(42) == "42:en" and send_welcome.__name__ == "send_welcome"
    assert send_welcome.name == f"{__name__}.test_a_function_task_is_still_a_function_and_has_its_defaults.<locals>.send_welcome"
    task_id = send_welcome.using(delay=3600, priority=9, unique_key="welcome:42").defer(42, locale="fr")
    assert send_welcome.using(unique_key="welcome:42").defer(1) == task_id
    task = app.get(task_id)
    assert (task.queue, task.priority, task.max_attempts) == ("emails", 9, 5)
    assert task.payload == {"args": [42], "kwargs": {"locale": "fr"}}
    assert send_welcome.defer(user_id=7) and app.list(type=send_welcome.name)[0].payload == {"args": [], "kwargs": {"user_id": 7}}


def test_adefer_from_async_code(store_url: str):
    async def scenario() -> None:
        async with Tasker(store_url) as app:
            await app.amigrate()

            @app.task
            async def double(n: int) -> int:
                return 2 * n

            task_id = await double.using(priority=2).adefer(21)
            await app.aprocess_queue()
            assert await app.aresult(task_id, timeout=5) == 42

    asyncio.run(scenario())


# -- payload models for named handlers ---------------------------------------------------------


class Webhook(pydantic.BaseModel):
    url: pydantic.AnyHttpUrl
    attempts_allowed: int = 3


@dataclasses.dataclass
class Resize:
    image: int
    width: int = 100


def test_a_payload_model_refuses_what_does_not_fit_and_hands_the_handler_an_instance(app: Tasker):
    got = []

    @app.handler("sendWebhook", payload=Webhook)
    def send(hook, ctx):
        got.append(hook)

    @app.handler("resize", payload=Resize)
    async def resize(job):
        got.append(job)

    for bad, field in [({"url": "not a url"}, "payload.url"), ({}, "payload.url"), ({"url": "https://x.io", "attempts_allowed": "many"}, "payload.attempts_allowed")]:
        with pytest.raises(InputError) as refused:
            app.create("sendWebhook", bad)
        assert refused.value.field == field, refused.value.problems
    for bad, field in [({"width": 3}, "payload.image"), ({"image": 1, "colour": "red"}, "payload.colour"), ([1], "payload")]:
        with pytest.raises(InputError) as refused:
            app.create("resize", bad)
        assert refused.value.field == field
    with pytest.raises(InputError, match="payload at position 1"):
        app.create_many("resize", [{"image": 1}, {"width": 2}])
    assert app.stats()["total"] == 0
    app.create("sendWebhook", {"url": "https://example.com/hook"})
    app.create("resize", Resize(image=5))
    app.create_many("resize", [{"image": 6, "width": 7}])
    assert app.process_queue().succeeded == 3
    assert isinstance(got[0], Webhook) and str(got[0].url) == "https://example.com/hook"
    assert sorted((j.image, j.width) for j in got[1:]) == [(5, 100), (6, 7)]


# -- retry control ---------------------------------------------------------------------------------


class Transient(Exception):
    pass


def test_retry_on_dont_retry_on_and_fail(app: Tasker):
    @app.handler(max_attempts=5, retry_delay=0, retry_on=Transient)
    def only_transient(payload):
        raise (Transient if payload == "transient" else ValueError)(payload)

    @app.handler(max_attempts=5, retry_delay=0, dont_retry_on=(KeyError, LookupError))
    def not_lookups(payload):
        raise (KeyError if payload == "key" else RuntimeError)(payload)

    @app.handler(max_attempts=5, retry_delay=0)
    async def gives_up(payload):
        raise Fail("the account is gone")

    @app.handler(max_attempts=3, retry_delay=0, timeout=0.05, dont_retry_on=TimeoutError)
    async def slow(payload):
        import asyncio
        await asyncio.sleep(1)

    ids = {name: app.create(handler, payload) for name, handler, payload in [
        ("transient", "only_transient", "transient"), ("other", "only_transient", "value"),
        ("key", "not_lookups", "key"), ("runtime", "not_lookups", "runtime"), ("fail", "gives_up", None), ("slow", "slow", None)]}
    for _ in range(6):
        app.process_queue()
    tasks = {name: app.get(task_id) for name, task_id in ids.items()}
    assert (tasks["transient"].status, tasks["transient"].attempts) == (TaskStatus.FAILED, 5)
    assert (tasks["other"].status, tasks["other"].attempts) == (TaskStatus.FAILED, 1)
    assert "not retried: ValueError is not listed in retry_on" in tasks["other"].last_error
    assert (tasks["key"].status, tasks["key"].attempts) == (TaskStatus.FAILED, 1)
    assert "not retried: KeyError is listed in dont_retry_on" in tasks["key"].last_error
    assert (tasks["runtime"].status, tasks["runtime"].attempts) == (TaskStatus.FAILED, 5)
    assert (tasks["fail"].status, tasks["fail"].attempts) == (TaskStatus.FAILED, 1)
    assert "the account is gone" in tasks["fail"].last_error and "not retried: the handler raised Fail" in tasks["fail"].errors[-1]["error"]
    assert (tasks["slow"].status, tasks["slow"].attempts) == (TaskStatus.FAILED, 1)
    assert "TimeoutError is listed in dont_retry_on" in tasks["slow"].last_error


def test_strict_types_refuses_a_type_nobody_handles(store_url: str):
    with Tasker(store_url, strict_types=True) as app:
        app.migrate()

        @app.handler()
        def send_webhook(payload):
            pass

        with pytest.raises(ValueError, match="did you mean 'send_webhook'") as refused:
            app.create("send_webhok", {})
        assert refused.value.field == "type"
        with pytest.raises(ValueError, match="no handler is registered"):
            app.schedule_every(60, "nobody")
        assert app.create("send_webhook", {}) and app.stats()["total"] == 1


def test_pydantic_stays_optional(store_url: str, tmp_path: Path):
    """With pydantic hidden, dataclasses and the standard types still round-trip."""
    script = textwrap.dedent(f"""
        import sys, dataclasses, datetime, uuid
        sys.modules["pydantic"] = None   # as if it were not installed
        from tasker import Tasker
        app = Tasker({store_url!r}); app.migrate()

        @dataclasses.dataclass
        class Point:
            x: int
            at: datetime.datetime

        @app.task
        def move(p: Point, by: uuid.UUID) -> Point:
            assert isinstance(p.at, datetime.datetime) and isinstance(by, uuid.UUID)
            return p

        task_id = move.defer(Point(1, datetime.datetime(2030, 1, 1)), uuid.uuid4())
        assert app.process_queue().succeeded == 1, app.get(task_id).last_error
        print(app.get(task_id).result)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "'at': '2030-01-01T00:00:00'" in done.stdout


def test_type_checkers_see_the_functions_parameters(tmp_path: Path):
    """``defer`` has the function's parameters (ParamSpec): mypy flags a wrong call."""
    module = tmp_path / "typed_tasks.py"
    module.write_text(textwrap.dedent("""
        from tasker import Tasker
        app = Tasker("sqlite:///:memory:")

        @app.task(max_attempts=2)
        def send_welcome(user_id: int, locale: str = "en") -> str:
            return locale

        @app.task
        async def fetch(url: str) -> bytes:
            return b""

        ok: str = send_welcome.defer(42, locale="fr")
        also: str = send_welcome.using(delay=30).defer(1)
        direct: str = send_welcome(7)
    """))
    wrong = tmp_path / "wrong_tasks.py"
    wrong.write_text(module.read_text() + "\nsend_welcome.defer('forty-two')\nfetch.defer(1)\nsend_welcome.defer(1, colour='red')\n")
    ran = [subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--strict", str(path)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path) for path in (module, wrong)]
    assert ran[0].returncode == 0, ran[0].stdout
    assert ran[1].returncode == 1, ran[1].stdout
    assert ran[1].stdout.count("error:") == 3, ran[1].stdout
    assert 'Argument 1 to "defer" of "TaskFunction" has incompatible type "str"; expected "int"' in ran[1].stdout
