"""Testing tasks the way a project does: the plugin's fixtures and tasker.testing."""
from __future__ import annotations

import pytest

from shop.tasks import SENT, app, ask_for_review, place_order, send_receipt
from tasker import TaskStatus, testing


@pytest.fixture(autouse=True)
def shop_app(tasker_isolate):
    """Every test gets the shop's app on a fresh store (in memory unless --tasker-url)."""
    SENT.clear()
    return tasker_isolate(app)


def test_placing_an_order_queues_a_receipt():
    place_order(1, "ada@example.com")
    testing.assert_enqueued(app, send_receipt, args=[1], kwargs={"email": "ada@example.com"})
    testing.refute_enqueued(app, ask_for_review)
    assert SENT == []


def test_drain_runs_the_receipt_and_the_review_a_week_later():
    place_order(2, "bob@example.com")
    summary = testing.drain(app)          # delayed tasks too, and the tasks they create
    assert (summary.succeeded, summary.failed) == (2, 0)
    assert SENT == ["receipt 2 -> bob@example.com", "review 2 -> bob@example.com"]


def test_a_delayed_task_waits_unless_drained_with_run_scheduled():
    send_receipt.defer(3, "cy@example.com")
    testing.drain(app, run_scheduled=False)
    assert SENT == ["receipt 3 -> cy@example.com"]
    testing.assert_enqueued(app, ask_for_review, args=[3])


def test_a_failing_task_raises_in_the_test():
    place_order(4, "not-an-email")
    with pytest.raises(Exception, match="cannot send to 'not-an-email'"):
        testing.drain(app)


def test_inline_mode_runs_each_task_at_once(tasker_inline):
    tasker_inline(app)
    task_id = place_order(5, "dee@example.com")
    assert app.get(task_id).status is TaskStatus.SUCCEEDED
    assert SENT == ["receipt 5 -> dee@example.com", "review 5 -> dee@example.com"]
