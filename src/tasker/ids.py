"""Task and worker ids: time-ordered UUIDs (version 7), made by the client.

Client-made ids let a batch insert return ids in order without a round trip
per row, and time ordering keeps the primary-key index append-mostly. Within
a process every id is greater than the one before, even in the same
millisecond, so listings can go newest first by id (and page by it).
"""
from __future__ import annotations

import os
import threading
import time
import uuid

_MILLIS = (1 << 48) - 1
_VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)
_COUNTER_ROOM = (1 << 61) - 1   # rand_b keeps its top bit clear, so a batch can count up in it
_last = 0                       # the greatest id made in this process, as an integer
_lock = threading.Lock()


def new_ids(count: int) -> list[str]:
    """``count`` fresh UUIDv7s in increasing order: 48 bits of milliseconds, then
    74 random bits, the last of which count up within the batch (RFC 9562's
    monotonic random method), so one batch costs one clock read and one urandom."""
    global _last
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    fresh = ((millis & _MILLIS) << 80) | _VERSION_AND_VARIANT | ((rand >> 68) << 64) | (rand & _COUNTER_ROOM)
    with _lock:
        # The same millisecond (or a clock set back) counts on from the last id: still increasing.
        first = fresh if fresh > _last else _last + 1
        _last = first + count - 1
    return [_text(first + n) for n in range(count)]


def _forget_last() -> None:
    """In a forked child: start from fresh random bits, or parent and child would count on
    from the same last id and make the same ids."""
    global _last
    _last = 0


def new_id() -> str:
    """A fresh UUIDv7 as text."""
    return new_ids(1)[0]


def _text(value: int) -> str:
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_id(text: object) -> bool:
    """True when ``text`` is a UUID string, the only shape a Tasker id takes."""
    if not isinstance(text, str) or len(text) != 36:
        return False
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


os.register_at_fork(after_in_child=_forget_last)
