"""A small shop's tasks: placing an order sends a receipt now and a review request in a week."""
from __future__ import annotations

from datetime import timedelta

from tasker import Fail, Tasker

app = Tasker()   # $TASKER_URL in production; the tests point it elsewhere
SENT: list[str] = []   # stands in for an email service


@app.task(max_attempts=3)
def send_receipt(order_id: int, email: str) -> str:
    if "@" not in email:
        raise Fail(f"cannot send to {email!r}")   # retrying would not help
    SENT.append(f"receipt {order_id} -> {email}")
    ask_for_review.using(delay=timedelta(days=7)).defer(order_id, email)
    return "sent"


@app.task
def ask_for_review(order_id: int, email: str) -> None:
    SENT.append(f"review {order_id} -> {email}")


def place_order(order_id: int, email: str) -> str:
    """What the web application calls: the receipt goes out in the background."""
    return send_receipt.defer(order_id, email=email)
