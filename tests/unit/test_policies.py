"""Pure logic: retry delays, outcome mapping, ids, URLs, enqueue validation."""
from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

from urllib.parse import quote

import pytest

from tasker.ids import is_id, new_id
from tasker.outcome import Ending, Finished, decide
from tasker.retry import delay_for, exponential_backoff
from tasker.store.base import ClaimedTask
from tasker.store.url import parse_url
from tasker.task import TaskStatus


def claimed(attempts=1, max_attempts=3, retry_delay=None, timeout=300.0) -> ClaimedTask:
    return ClaimedTask("id", "token", "t", None, attempts, max_attempts, timeout, retry_delay, "default", 0, None)


def test_backoff_grows_and_caps():
    rng = random.Random(1)
    values = [exponential_backoff(a, rng) for a in (1, 2, 3, 10, 40)]
    assert 0.75 <= values[0] <= 1.25 and 1.5 <= values[1] <= 2.5 and 3 <= values[2] <= 5
    assert values[4] <= 3600 * 1.25


def test_delay_precedence():
    assert delay_for(1, 7.0, 3.0) == 7.0
    assert delay_for(1, None, 3.0) == 3.0
    assert delay_for(2, None, lambda a: a * 10) == 20.0
    assert delay_for(2, None, timedelta(seconds=4)) == 4.0
    assert 0.75 <= delay_for(1, None, lambda a: 1 / 0) <= 1.25, "a broken policy falls back to the default"


def test_outcomes():
    ok = decide(claimed(), Finished(Ending.RETURNED, value={"a": 1}), None)
    assert ok.status is TaskStatus.SUCCEEDED and json.loads(ok.result_json) == {"a": 1}
    retry = decide(claimed(attempts=1), Finished(Ending.RAISED, error=ValueError("x")), 5.0)
    assert retry.status is TaskStatus.QUEUED and retry.retry_in == 5.0 and retry.error.startswith("ValueError: x")
    final = decide(claimed(attempts=3), Finished(Ending.RAISED, error=ValueError("x")), 5.0)
    assert final.status is TaskStatus.FAILED
    timeout = decide(claimed(attempts=3, timeout=2), Finished(Ending.TIMED_OUT), None)
    assert timeout.status is TaskStatus.FAILED and "timeout of 2s" in timeout.error
    cancelled = decide(claimed(), Finished(Ending.CANCELLED), None)
    assert cancelled.status is TaskStatus.CANCELLED
    interrupted = decide(claimed(attempts=3), Finished(Ending.INTERRUPTED), None)
    assert interrupted.status is TaskStatus.QUEUED and interrupted.refund_attempt and interrupted.retry_in == 0
    snoozed = decide(claimed(), Finished(Ending.SNOOZED, delay=30), None)
    assert snoozed.refund_attempt and snoozed.retry_in == 30
    bad_result = decide(claimed(attempts=3), Finished(Ending.RETURNED, value=object()), None)
    assert bad_result.status is TaskStatus.FAILED and "not JSON-serializable" in bad_result.error


def test_ids_are_time_ordered_uuid7():
    ids = [new_id() for _ in range(1000)]
    assert all(is_id(i) and uuid.UUID(i).version == 7 for i in ids)
    assert len(set(ids)) == 1000
    assert ids[0][:8] <= ids[-1][:8]
    assert not is_id("nope") and not is_id(None) and not is_id("x" * 36)


def test_urls():
    assert parse_url("sqlite:////tmp/a.db").target == "/tmp/a.db"
    assert parse_url("sqlite:///rel/a.db").target.endswith("/rel/a.db")
    assert parse_url("sqlite:///:memory:").target == ":memory:"
    pg = parse_url("postgres://u@h:5432/db?schema=app_tasks&listen=off&sslmode=disable")
    assert (pg.kind, pg.schema, pg.listen) == ("postgresql", "app_tasks", False)
    assert pg.target == "postgresql://u@h:5432/db?sslmode=disable"
    assert parse_url("postgresql://u:secret@h/db").display == "postgresql://u:***@h/db"
    with pytest.raises(ValueError, match="names no file"):
        parse_url("sqlite://")


def test_pooler_urls():
    """listen_url (URL parameter, percent-encoded, or Tasker keyword) and pool_size leave the
    URL before libpq sees it; behind a pooler (listen=off or listen_url) nothing is prepared."""
    direct = "postgresql://u@db:5432/app?sslmode=require"
    pooled = parse_url(f"postgresql://u@bouncer:6432/app?pool_size=2&listen_url={quote(direct, safe='')}")
    assert (pooled.target, pooled.listen_target, pooled.listens_on) == ("postgresql://u@bouncer:6432/app", direct, direct)
    assert pooled.pooled and pooled.pool_size == 2
    assert parse_url("postgresql://u@bouncer/app", listen_url=direct).listens_on == direct
    assert parse_url("postgresql://u@bouncer/app?listen=off").listens_on is None
    plain = parse_url("postgresql://u@db/app")
    assert (plain.pooled, plain.listens_on, plain.pool_size) == (False, plain.target, 4)
    with pytest.raises(ValueError, match="contradict"):
        parse_url("postgresql://u@b/app?listen=off", listen_url=direct)
    with pytest.raises(ValueError, match="pool_size must be a whole number from 1 to 100, got '0'"):
        parse_url("postgresql://u@b/app?pool_size=0")
    with pytest.raises(ValueError, match="libpq parameters only, not schema"):
        parse_url("postgresql://u@b/app", listen_url="postgresql://u@db/app?schema=x")
    with pytest.raises(ValueError, match="SQLite has no LISTEN"):
        parse_url("sqlite:///x.db", listen_url=direct)


@pytest.mark.parametrize("url", ["sqlite://relative.db", "sqlite:relative.db", "sqlite:/relative.db"])
def test_a_sqlite_url_without_three_slashes_is_refused_showing_the_right_form(url):
    with pytest.raises(ValueError, match="three slashes") as refused:
        parse_url(url)
    assert "sqlite:///relative.db" in str(refused.value) and "sqlite:////abs/path.db" in str(refused.value)


@pytest.mark.parametrize("text, seconds", [
    ("90", 90.0), ("1.5", 1.5), ("7d", 604800.0), ("12h", 43200.0), ("30m", 1800.0), ("1h30m", 5400.0),
    ("2w 3d", 1468800.0), ("500ms", 0.5), ("1m30s", 90.0), (" 1.5h ", 5400.0), (45, 45.0),
])
def test_durations(text, seconds):
    from tasker.checks import duration

    assert duration(text, "delay") == seconds


@pytest.mark.parametrize("text, message", [
    ("7x", "'7x' is not a duration"), ("1h1h", "each unit once"), ("", "is not a duration"), ("h", "is not a duration"),
    ("-5", ">= 0"), ("1e3", "is not a duration"), ("200y", "is not a duration"), ("6000w", "at most"),
])
def test_bad_durations_are_refused_naming_the_value(text, message):
    from tasker.checks import duration
    from tasker.errors import InputError

    with pytest.raises(InputError, match=message) as refused:
        duration(text, "delay")
    assert refused.value.field == "delay"


def test_a_task_batch_is_a_sequence_of_new_tasks():
    from tasker.enqueue import TaskDefaults, build_new_tasks, needs_lookups

    batch = build_new_tasks("t", [{"n": 0}, {"n": 1}, {"n": 2}], TaskDefaults(), queue="q", priority=3)
    assert len(batch) == 3 and [t.payload_json for t in batch] == ['{"n":0}', '{"n":1}', '{"n":2}']
    assert batch[-1] == batch[2] and batch[-1].payload_json == '{"n":2}' and batch[0].id == batch.ids[0]
    assert [t.id for t in batch[1:]] == batch.ids[1:] and {t.queue for t in batch} == {"q"}
    with pytest.raises(IndexError):
        batch[3]
    assert not needs_lookups(batch)
    assert needs_lookups(build_new_tasks("t", [1, 2], TaskDefaults(), unique_key="k"))
