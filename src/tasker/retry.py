"""Retry delay policies: pure functions of the attempt number."""
from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Callable, Union

from . import checks
from .limits import MAX_DELAY

RetryDelay = Union[float, int, timedelta, Callable[[int], float]]

BASE_SECONDS = 1.0
MAX_SECONDS = 3600.0


def exponential_backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Default policy: 1 s, 2 s, 4 s ... capped at an hour, with +-25 % jitter.

    The jitter spreads retries of tasks that failed together (one outage) so
    that they do not come back as one burst.
    """
    base = min(MAX_SECONDS, BASE_SECONDS * 2 ** max(0, attempt - 1))
    jitter = (rng or random).uniform(-0.25, 0.25)
    return base * (1 + jitter)


def validate_policy(policy: RetryDelay | None) -> RetryDelay | None:
    """Check a handler's retry_delay option once, at registration."""
    if policy is None or callable(policy):
        return policy
    return checks.seconds(policy, "retry_delay")


def clamped(seconds: float | int | timedelta) -> float:
    """A delay a handler asked for at run time (``Snooze``, ``Retry``, a policy's answer),
    kept within what can be stored: below 0 is 0, past ``MAX_DELAY`` (infinity too) is ``MAX_DELAY``.
    Only a value that is not a number at all is refused."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"a delay must be seconds or a timedelta, not {type(seconds).__name__}")
    if math.isnan(seconds):
        raise ValueError("a delay must be a number of seconds, not NaN")
    return float(min(max(seconds, 0.0), MAX_DELAY))


def delay_for(attempt: int, task_delay: float | None, policy: RetryDelay | None) -> float:
    """Seconds to wait before the attempt after ``attempt``.

    A per-task delay wins over the handler's policy, which wins over the
    default exponential backoff. A misbehaving callable falls back to the
    default rather than losing the retry; an excessive answer is clamped.
    """
    if task_delay is not None:
        return task_delay
    if policy is None:
        return exponential_backoff(attempt)
    if not callable(policy):
        return checks.seconds(policy, "retry_delay")
    try:
        return clamped(policy(attempt))
    except Exception:
        return exponential_backoff(attempt)
