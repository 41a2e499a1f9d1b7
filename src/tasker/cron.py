"""Recurrence maths for recurring tasks: fixed intervals and cron schedules.

Everything here is pure computation: no I/O, no database, no clock reads
except the default ``anchor`` of :func:`parse_every`. Every datetime taken
must be timezone-aware (naive ones raise ``ValueError``) and every datetime
returned is aware and in UTC.

Two kinds of recurrence implement :class:`Recurrence`:

* :class:`Interval` -- a fixed step of elapsed time from an anchor instant.
  Steps are resolved to whole microseconds; time zones play no part.
* :class:`Cron` -- a standard 5-field expression (minute, hour, day of month,
  month, day of week) evaluated on the wall clock of an IANA time zone by
  ``cronsim``. Names (``MON``, ``JAN``), ranges, steps, lists, ``L``, ``LW``
  and ``DOW#n`` are accepted as cronsim understands them. The aliases
  ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/
  ``@midnight`` and ``@hourly`` are expanded to their 5-field forms. Rejected:
  6-field expressions (a seconds field; sub-minute schedules should use an
  interval instead), ``@reboot`` and any other ``@`` word.

Daylight-saving time (cronsim's behaviour, which mimics Debian cron):

* **Fixed-time expressions** -- both the minute and the hour field start
  with something other than ``*`` (``30 2 * * *``, ``0 9 * * 1-5``,
  ``0,30 1-3 * * *``) -- are evaluated on the wall clock:

  - A wall-clock time that does not exist (spring-forward gap) fires once,
    at the first valid instant after the gap: ``30 2 * * *`` in
    Europe/Berlin fires at 03:00 CEST on the day clocks jump 02:00 -> 03:00.
    If that instant is also a regular tick (``0 2,3 * * *``) it fires once.
  - A wall-clock time that occurs twice (fall-back overlap) fires once, at
    its first occurrence (``fold=0``, the pre-transition offset).

* **Wildcard expressions** -- the minute or the hour field starts with ``*``
  (``*/30 * * * *``, ``*/15 2 * * *``) -- follow elapsed time: every real
  instant whose local wall-clock reading matches is a tick. Hence
  ``*/30 * * * *`` keeps firing every 30 real minutes straight through both
  transitions; wall-clock times inside a spring-forward gap never fire; and
  during a fall-back overlap the repeated times fire in both passes, e.g.
  ``*/30 2 * * *`` in Europe/Berlin fires at 02:00 and 02:30 CEST and again
  at 02:00 and 02:30 CET. Those are distinct instants an hour apart, never
  the same instant twice.

Whatever the expression, :meth:`Cron.next_after` returns an instant strictly
after its argument, so iterating it never repeats a fire time and never
stalls.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

__all__ = ["Cron", "Interval", "Recurrence", "fire_times_between", "parse_every"]

_MICROSECOND = timedelta(microseconds=1)
_MAX_INTERVAL_SECONDS = timedelta.max.total_seconds()

_CRON_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# A fall-back overlap can replay at most a few hours of wall-clock ticks that
# precede `after`; this bound only exists so a cronsim bug cannot hang us.
_MAX_STALE_TICKS = 100_000


class Recurrence(Protocol):
    """A schedule of fire times."""

    @property
    def description(self) -> str:
        """Human-readable summary, e.g. ``every 30s``."""
        ...

    def next_after(self, after: datetime) -> datetime:
        """Return the first fire time strictly after ``after``, aware UTC."""
        ...


def _require_aware(value: datetime, name: str) -> datetime:
    """Return ``value`` in UTC, rejecting naive or non-datetime values."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def _zone(name: str) -> tzinfo:
    """Resolve an IANA zone name, as ``ValueError`` if it is unknown."""
    if not isinstance(name, str):
        raise TypeError(f"timezone must be a str, got {type(name).__name__}")
    if name == "UTC":
        # cronsim skips its DST machinery only for datetime.timezone.utc.
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # ValueError covers malformed keys such as '' or '../etc'.
        raise ValueError(f"unknown time zone {name!r}") from exc


def _format_seconds(seconds: float) -> str:
    """Render ``seconds`` without a trailing ``.0`` for whole numbers."""
    return str(int(seconds)) if seconds.is_integer() else repr(seconds)


@dataclass(frozen=True)
class Interval:
    """Fire every ``seconds`` of elapsed time, on the grid through ``anchor``.

    The anchor is stored in UTC. ``seconds`` is resolved to whole
    microseconds so the grid is exact however long it runs.
    """

    seconds: float
    anchor: datetime
    _step: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate the step and normalise the anchor to UTC."""
        seconds = _check_seconds(self.seconds)
        step = timedelta(microseconds=round(seconds * 1_000_000))
        if not step:
            raise ValueError(f"interval must be at least 1 microsecond, got {self.seconds!r}")
        object.__setattr__(self, "seconds", seconds)
        object.__setattr__(self, "anchor", _require_aware(self.anchor, "anchor"))
        object.__setattr__(self, "_step", step)

    @property
    def description(self) -> str:
        """E.g. ``every 30s`` or ``every 1.5s``."""
        return f"every {_format_seconds(self.seconds)}s"

    def next_after(self, after: datetime) -> datetime:
        """Return ``anchor + k*seconds`` for the smallest ``k >= 0`` past ``after``."""
        after = _require_aware(after, "after")
        if after < self.anchor:
            return self.anchor
        # Integer microseconds keep this exact: no float drift over years.
        elapsed = (after - self.anchor) // _MICROSECOND
        step = self._step // _MICROSECOND
        return self.anchor + self._step * (elapsed // step + 1)


def _check_seconds(seconds: object) -> float:
    """Return ``seconds`` as a float, rejecting bools and bad magnitudes."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"interval seconds must be int or float, got {type(seconds).__name__}")
    try:
        value = float(seconds)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"interval must be a finite number of seconds, got {seconds!r}")
    if value <= 0:
        raise ValueError(f"interval must be positive, got {seconds!r} seconds")
    if value > _MAX_INTERVAL_SECONDS:
        raise ValueError(f"interval is too large, got {seconds!r} seconds")
    return value


def _normalise_cron(expression: object) -> str:
    """Expand aliases and check the field count; cronsim checks the fields."""
    if not isinstance(expression, str):
        raise TypeError(f"cron expression must be a str, got {type(expression).__name__}")
    text = " ".join(expression.split())
    if text.startswith("@"):
        try:
            return _CRON_ALIASES[text.lower()]
        except KeyError:
            known = ", ".join(_CRON_ALIASES)
            raise ValueError(
                f"unsupported cron alias {expression!r} (supported: {known})"
            ) from None
    fields = text.split(" ") if text else []
    if len(fields) == 6:
        raise ValueError(
            f"invalid cron expression {expression!r}: 6 fields given, but a seconds "
            "field is not supported; use 5 fields or an interval in seconds"
        )
    if len(fields) != 5:
        raise ValueError(
            f"invalid cron expression {expression!r}: expected 5 fields "
            f"(minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    return text


@dataclass(frozen=True)
class Cron:
    """Fire on the wall-clock ticks of a 5-field cron ``expression`` in ``timezone``.

    Aliases such as ``@daily`` are stored expanded. See the module docstring
    for the daylight-saving rules.
    """

    expression: str
    timezone: str = "UTC"
    _tz: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate the expression and zone up front, not at first use."""
        text = _normalise_cron(self.expression)
        tz = _zone(self.timezone)
        try:
            CronSim(text, datetime(2000, 1, 1, tzinfo=UTC))
        except CronSimError as exc:
            raise ValueError(f"invalid cron expression {self.expression!r}: {exc}") from None
        object.__setattr__(self, "expression", text)
        object.__setattr__(self, "_tz", tz)

    @property
    def description(self) -> str:
        """E.g. ``cron '*/5 * * * *' (Europe/Paris)``."""
        return f"cron {self.expression!r} ({self.timezone})"

    def next_after(self, after: datetime) -> datetime:
        """Return the first tick strictly after ``after``, in UTC."""
        after = _require_aware(after, "after")
        ticks = CronSim(self.expression, after.astimezone(self._tz))
        # cronsim resolves fall-back ambiguity to the first pass (fold=0), so
        # when `after` lies in the second pass it can yield instants before
        # `after`; skip those to keep results strictly increasing.
        for _ in range(_MAX_STALE_TICKS):
            try:
                tick = next(ticks).astimezone(UTC)
            except StopIteration:
                raise ValueError(
                    f"{self.description} has no fire time within 50 years after {after}"
                ) from None
            if tick > after:
                return tick
        raise RuntimeError(f"{self.description}: no tick found after {after}")


def parse_every(
    every: int | float | timedelta | str,
    *,
    timezone: str | None = None,
    anchor: datetime | None = None,
) -> Recurrence:
    """Build a recurrence from a user-facing ``every`` value.

    * ``int``/``float`` seconds or a ``timedelta`` -> :class:`Interval`
      anchored at ``anchor`` (default: now, UTC). Must be positive and finite.
      ``timezone`` is rejected: an interval is elapsed time.
    * ``str`` -> :class:`Cron` in ``timezone`` (default ``"UTC"``). Accepts
      5-field expressions and the aliases ``@yearly``, ``@annually``,
      ``@monthly``, ``@weekly``, ``@daily``, ``@midnight`` and ``@hourly``;
      rejects 6-field (seconds) expressions, ``@reboot`` and other aliases.
      ``anchor`` is ignored, since cron ticks are pinned to the wall clock.

    Raises ``ValueError`` for a bad value, expression or zone and
    ``TypeError`` for any other type (``bool`` included).
    """
    if isinstance(every, str):
        return Cron(every, "UTC" if timezone is None else timezone)
    if isinstance(every, bool) or not isinstance(every, (int, float, timedelta)):
        raise TypeError(
            "every must be seconds (int or float), a timedelta or a cron string, "
            f"got {type(every).__name__}"
        )
    if timezone is not None:
        raise ValueError(
            f"timezone applies to cron only, not to an interval (got timezone={timezone!r})"
        )
    if isinstance(every, timedelta):
        if every <= timedelta(0):
            raise ValueError(f"interval must be positive, got {every!r}")
        every = every.total_seconds()
    return Interval(every, datetime.now(UTC) if anchor is None else anchor)


def fire_times_between(
    rec: Recurrence, after: datetime, until: datetime, limit: int
) -> list[datetime]:
    """Return the latest ``limit`` fire times ``t`` with ``after < t <= until``.

    Results are ascending. When more than ``limit`` ticks were missed the
    oldest are dropped: catch-up runs only the most recent ones.
    """
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be an int, got {type(limit).__name__}")
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    after = _require_aware(after, "after")
    until = _require_aware(until, "until")
    if until <= after:
        return []
    # Scan a window ending at `until`, doubling it until it holds `limit`
    # ticks or reaches `after`, so a long outage costs O(limit) ticks rather
    # than one call per missed tick.
    span = _period_near(rec, until) * limit
    while True:
        start = after if span >= until - after else until - span
        ticks = _latest_ticks(rec, start, until, limit)
        if len(ticks) == limit or start == after:
            return ticks
        span *= 2


def _period_near(rec: Recurrence, when: datetime) -> timedelta:
    """Estimate the tick spacing from the gap between the next two ticks."""
    first = rec.next_after(when)
    return rec.next_after(first) - first


def _latest_ticks(rec: Recurrence, start: datetime, until: datetime, limit: int) -> list[datetime]:
    """Return the last ``limit`` ticks in ``(start, until]``, ascending."""
    kept: deque[datetime] = deque(maxlen=limit)
    tick = rec.next_after(start)
    while tick <= until:
        kept.append(tick)
        tick = rec.next_after(tick)
    return list(kept)
