"""Lanes: how many pooled connections one event loop uses at once (store/postgres/lanes.py)."""
from __future__ import annotations

import asyncio

from tasker.store.postgres.lanes import Lanes


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_brief_overlaps_share_one_lane():
    async def scenario():
        lanes = Lanes(limit=4, idle=60, grow_after=5.0)
        order = []

        async def use(name):
            async with lanes.lane():
                order.append(name)
                await asyncio.sleep(0)

        await asyncio.gather(*(use(n) for n in range(5)))
        return lanes, order

    lanes, order = run(scenario())
    assert lanes.open == 1 and lanes.busy == 0 and order == [0, 1, 2, 3, 4]


def test_a_lasting_wait_opens_another_lane_up_to_the_limit():
    async def scenario():
        lanes = Lanes(limit=2, idle=60, grow_after=0.001)
        release = asyncio.Event()
        inside = []

        async def hold(name):
            async with lanes.lane():
                inside.append(name)
                await release.wait()

        holders = [asyncio.create_task(hold(n)) for n in range(3)]
        while len(inside) < 2:
            await asyncio.sleep(0.001)
        opened, busy, third_waiting = lanes.open, lanes.busy, len(lanes.waiters)
        release.set()
        await asyncio.gather(*holders)
        return opened, busy, third_waiting, inside, lanes

    opened, busy, third_waiting, inside, lanes = run(scenario())
    assert (opened, busy, third_waiting) == (2, 2, 1)
    assert sorted(inside) == [0, 1, 2] and lanes.busy == 0


def test_a_cancelled_waiter_leaks_no_lane_and_idle_lanes_close():
    async def scenario():
        lanes = Lanes(limit=1, idle=0, grow_after=0.001)
        release = asyncio.Event()

        async def hold():
            async with lanes.lane():
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        waiter = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        waiter.cancel()
        release.set()
        await holder
        await asyncio.gather(waiter, return_exceptions=True)
        after_cancel = lanes.busy, len(lanes.waiters)

        grown = Lanes(limit=3, idle=0, grow_after=0.001)
        gate = asyncio.Event()

        async def use():
            async with grown.lane():
                await gate.wait()

        users = [asyncio.create_task(use()) for _ in range(3)]
        while grown.busy < 3:
            await asyncio.sleep(0.001)
        gate.set()
        await asyncio.gather(*users)
        return after_cancel, grown.open

    after_cancel, open_after = run(scenario())
    assert after_cancel == (0, 0)
    assert open_after < 3   # unused past idle=0: lanes closed as they were given back


def test_many_short_waits_add_up_to_another_lane():
    """A busy worker's claims and completions each wait briefly for the other, again and again:
    together those waits open a second lane, where one short wait alone does not."""
    async def scenario():
        lanes = Lanes(limit=3, idle=60, grow_after=0.02)

        async def use():
            async with lanes.lane():
                await asyncio.sleep(0.002)

        await asyncio.gather(use(), use())
        after_one_overlap = lanes.open
        for _ in range(20):
            await asyncio.gather(use(), use())
        return after_one_overlap, lanes.open

    after_one_overlap, later = run(scenario())
    assert after_one_overlap == 1
    assert later >= 2
