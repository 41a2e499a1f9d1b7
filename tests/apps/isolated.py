"""Handlers for process-isolated runs: importable at module level, as spawn requires."""
from __future__ import annotations

import os


def spin_forever(payload):
    """CPU-bound and deaf to cancellation: only killing its process stops it."""
    with open(payload["marker"] + ".tmp", "w") as f:   # renamed into place: never seen half-written
        f.write(str(os.getpid()))
    os.replace(payload["marker"] + ".tmp", payload["marker"])
    n = 0
    while True:
        n += 1


def square(payload):
    return payload * payload


def explode(payload):
    raise ValueError(payload)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a killed child may linger as a zombie until reaped
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def exit_nine(payload):
    """Dies without a word, as a crash or os._exit in a library would."""
    os._exit(9)
