"""Retry delay policies: pure functions of the attempt number."""
from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Callable, Union

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


def seconds_of(delay: float | int | timedelta, what: str = "retry_delay") -> float:
    """Validate a fixed delay and express it in seconds."""
    if isinstance(delay, bool):
        raise TypeError(f"{what} must be seconds, a timedelta or a callable, not a bool")
    if isinstance(delay, timedelta):
        delay = delay.total_seconds()
    if not isinstance(delay, (int, float)):
        raise TypeError(f"{what} must be seconds, a timedelta or a callable, not {type(delay).__name__}")
    if not math.isfinite(delay) or delay < 0:
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {delay!r}")
    return float(delay)


def validate_policy(policy: RetryDelay | None) -> RetryDelay | None:
    """Check a handler's retry_delay option once, at registration."""
    if policy is None or callable(policy):
        return policy
    return seconds_of(policy)


def delay_for(attempt: int, task_delay: float | None, policy: RetryDelay | None) -> float:
    """Seconds to wait before the attempt after ``attempt``.

    A per-task delay wins over the handler's policy, which wins over the
    default exponential backoff. A misbehaving callable falls back to the
    default rather than losing the retry.
    """
    if task_delay is not None:
        return task_delay
    if policy is None:
        return exponential_backoff(attempt)
    if not callable(policy):
        return seconds_of(policy)
    try:
        return seconds_of(policy(attempt))
    except Exception:
        return exponential_backoff(attempt)
