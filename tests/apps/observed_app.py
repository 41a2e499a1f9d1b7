"""An app for the observability tests: ``tasker worker tests.apps.observed_app:app``.

- ``ok``: logs through the application's own logger, returns.
- ``boom``: fails in a user function (two attempts, no delay between them).
"""
from __future__ import annotations

import logging
import os

from tasker import Tasker

app = Tasker(os.environ["TASKER_URL"])
shop_log = logging.getLogger("shop")


@app.handler("ok")
def ok(payload):
    shop_log.info("hello from the handler")
    return payload


def charge(amount):
    raise ValueError(f"card declined for {amount}")


@app.handler("boom", max_attempts=2, retry_delay=0)
def boom(payload):
    charge(payload["amount"])
