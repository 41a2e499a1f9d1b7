"""Tracebacks that start at the user's code, not at the thread and event-loop plumbing
(Tasker's own frames, ``concurrent.futures``, ``asyncio``, other tools' wrappers) that called it.

The places where Tasker calls user code mark themselves with ``calls_user_code``; a traceback
is cut after the last such frame, then leading standard-library frames are skipped.
"""
from __future__ import annotations

import os
import sysconfig
from types import CodeType, TracebackType
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable[..., object])

_BOUNDARIES: set[CodeType] = set()
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep
_INSTALLED = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


def calls_user_code(fn: F) -> F:
    """Mark ``fn`` as a place where Tasker calls a handler or middleware: tracebacks start after it."""
    _BOUNDARIES.add(getattr(fn, "__code__"))
    return fn


def from_user_frame(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` from the first user frame; all of it when no user frame can be told apart (an
    error raised inside Tasker itself keeps its whole story)."""
    start, walk = tb, tb
    while walk is not None:
        if walk.tb_frame.f_code in _BOUNDARIES and walk.tb_next is not None:
            start = walk.tb_next
        walk = walk.tb_next
    first = start
    while start is not None and _is_plumbing(start.tb_frame.f_code.co_filename):
        start = start.tb_next
    return start if start is not None else (first if first is not None else tb)


def _is_plumbing(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path.startswith(_PACKAGE):
        return True
    return path.startswith(_STDLIB) and not any(part in path for part in _INSTALLED)
