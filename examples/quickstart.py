"""Tasker in one file: typed tasks, deferred runs, a worker pass, results.

    python examples/quickstart.py          # stores in ./tasker.db (or $TASKER_URL)

In production a long-running worker runs them instead of the pass at the end:
``tasker worker quickstart:app`` (from this folder), as many processes as you like.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

from tasker import Retry, Tasker

app = Tasker()   # ./tasker.db, or $TASKER_URL, or Tasker("postgresql://user@host/db")


@dataclass
class Order:
    id: int
    total: float
    placed: datetime


@app.task(max_attempts=5, queue="emails")
def send_receipt(order: Order, locale: str = "en") -> str:
    """A plain function: the order comes back as an Order, its datetime as a datetime."""
    if order.total < 0:
        raise Retry(10, "the payment service is not ready yet")   # try again in 10 s
    return f"receipt for order {order.id} ({order.placed:%Y-%m-%d}) sent in {locale}"


@app.task(timeout=30)
async def resize(image_id: int, width: int = 800) -> dict:
    """Async works the same way."""
    await asyncio.sleep(0.01)
    return {"image": image_id, "width": width}


if __name__ == "__main__":
    order = Order(id=1042, total=99.5, placed=datetime.now(timezone.utc))
    receipt = send_receipt.defer(order, locale="fr")                  # checked against the signature
    thumbnail = resize.using(priority=5, unique_key="resize:7").defer(7, width=200)
    resize.using(delay=3600).defer(8)                                 # runs in an hour

    summary = app.process_queue()                                     # one pass, like a cron tick
    print(f"ran {summary.succeeded} task(s), {summary.failed} failed")
    print(app.result(receipt, timeout=10))
    print(app.result(thumbnail, timeout=10))
    print(app.get(receipt).status)                                    # succeeded
