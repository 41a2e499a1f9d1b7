"""Slots: what the fetcher may claim, with and without prefetch (pure)."""
from __future__ import annotations

from tasker.worker.fetcher import Slots


def fill(slots: Slots, queue: str = "default") -> None:
    for _queue, count in slots.plan():
        for _ in range(count):
            slots.take(queue)


def test_without_prefetch_a_claim_is_worth_making_as_soon_as_one_slot_frees():
    slots = Slots(3, None)
    assert slots.plan() == [(None, 3)]
    fill(slots)
    assert slots.plan() == [] and slots.free == 0
    assert slots.release("default") is True     # full -> room
    assert slots.release("default") is False    # room already known
    assert slots.plan() == [(None, 2)]


def test_prefetch_holds_more_than_concurrency_and_refills_in_batches():
    slots = Slots(4, None)
    slots.prefetch = 8
    assert slots.plan() == [(None, 12)] and slots.refill_at == 4
    fill(slots)
    woke = [slots.release("default") for _ in range(6)]
    assert woke == [False, False, False, True, False, False]   # a batch of 4 free, then quiet
    assert slots.plan() == [(None, 6)]


def test_a_deeper_prefetch_claims_in_bigger_batches_while_each_handler_slot_still_has_one_waiting():
    slots = Slots(4, None)
    slots.prefetch = 12   # what a worker holds ahead while its tasks are short: 3 x concurrency
    assert slots.plan() == [(None, 16)] and slots.refill_at == 8
    fill(slots)
    woke = [slots.release("default") for _ in range(8)]
    assert woke == [False] * 7 + [True]   # 8 still held: 4 running, 4 waiting, when the claim goes out
    assert slots.plan() == [(None, 8)]


def test_per_queue_limits_wake_when_their_queue_frees():
    slots = Slots(5, {"mail": 1, "reports": 2})
    assert slots.plan() == [(["mail"], 1), (["reports"], 2)]
    slots.take("mail")
    slots.take("reports")
    slots.take("reports")
    assert slots.plan() == []
    assert slots.release("mail") is True
    assert slots.plan() == [(["mail"], 1)]


def test_flow_view_keeps_only_this_workers_limited_types_and_queues():
    from tasker.worker.fetcher import FlowView

    view = FlowView(["a", "b"], ["q1"])
    assert not view.active and view.due(0.0)
    view.update([("type", "a"), ("type", "elsewhere"), ("queue", "q1"), ("queue", "q2")], 10.0)
    assert view.limited_types == {"a"} and view.limited_queues == {"q1"} and view.active
    assert not view.due(10.5) and view.due(11.0)
    view.update([("type", "elsewhere")], 11.0)
    assert not view.active
    serving_all = FlowView(["a"], None)
    serving_all.update([("queue", "any")], 0.0)
    assert serving_all.limited_queues == {"any"}
