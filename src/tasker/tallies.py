"""What the store tallies as attempts and tasks end, for metrics that never go down.

Every recorded attempt adds one to a tally row keyed by queue, type, the status it led to
(``succeeded``, ``failed``, ``cancelled``, or ``retried`` for a failure that runs again)
and the histogram buckets of its run time and queue wait; tasks that end without a recorded
attempt (cancelled while queued, a lost attempt's rescue) add with bucket ``-1``. Deleting
tasks (cleanup, retention) never touches the tallies, so the counters built on them only rise.

Buckets are computed here, once, by the process that records the attempt; the store only adds.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

# Upper bounds (seconds) of the run-time and queue-wait histogram buckets; one more bucket is +Inf.
RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)
NO_BUCKET = -1          # not measured (the attempt did not run here, or ended unseen)
RETRIED = "retried"     # the status tallied for a failed attempt that will run again
SHARDS = 8              # tally rows per key, so concurrent workers seldom wait on one row's lock


def bucket(seconds: float | None, bounds: tuple[float, ...]) -> int:
    """The index of the first bound ``seconds`` fits under (``len(bounds)``: +Inf); ``NO_BUCKET`` for None."""
    if seconds is None or not math.isfinite(seconds):
        return NO_BUCKET
    return bisect.bisect_left(bounds, max(0.0, seconds))


@dataclass(frozen=True)
class Tally:
    """One summed tally row, as the store reads it back."""

    queue: str
    type: str
    status: str
    run_bucket: int
    wait_bucket: int
    count: int
    run_seconds: float
    wait_seconds: float
