"""Task and worker ids: time-ordered UUIDs (version 7), made by the client.

Client-made ids let a batch insert return ids in order without a round trip
per row, and time ordering keeps the primary-key index append-mostly.
"""
from __future__ import annotations

import os
import time
import uuid


def new_id() -> str:
    """A fresh UUIDv7 as text: 48 bits of milliseconds, then 74 random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76                      # version
    value |= (rand >> 68) << 64             # 12 bits of rand_a
    value |= 0b10 << 62                     # variant
    value |= rand & ((1 << 62) - 1)         # 62 bits of rand_b
    return str(uuid.UUID(int=value))


def is_id(text: object) -> bool:
    """True when ``text`` is a UUID string, the only shape a Tasker id takes."""
    if not isinstance(text, str) or len(text) != 36:
        return False
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
