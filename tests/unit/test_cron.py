"""Unit tests for tasker.cron: intervals, cron ticks, DST and catch-up."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tasker.cron import Cron, Interval, Recurrence, fire_times_between, parse_every


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    """Shorthand for an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def series(rec: Recurrence, after: datetime, count: int) -> list[datetime]:
    """Return ``count`` successive fire times after ``after``."""
    out = []
    for _ in range(count):
        after = rec.next_after(after)
        out.append(after)
    return out


# --- Interval -------------------------------------------------------------


def test_interval_anchor_in_future_fires_at_anchor() -> None:
    """Before the anchor, the anchor itself is the next tick."""
    rec = Interval(30, utc(2025, 1, 1, 12))
    assert rec.next_after(utc(2025, 1, 1, 11)) == utc(2025, 1, 1, 12)


def test_interval_at_anchor_is_exclusive() -> None:
    """A tick equal to `after` is not returned."""
    rec = Interval(30, utc(2025, 1, 1, 12))
    assert rec.next_after(utc(2025, 1, 1, 12)) == utc(2025, 1, 1, 12, 0, 30)


def test_interval_anchor_in_past_stays_on_grid() -> None:
    """Ticks are anchor + k*step, even far from the anchor."""
    rec = Interval(30, utc(2025, 1, 1, 12))
    assert rec.next_after(utc(2025, 1, 1, 12, 0, 45)) == utc(2025, 1, 1, 12, 1)
    assert rec.next_after(utc(2025, 1, 1, 12, 1)) == utc(2025, 1, 1, 12, 1, 30)
    assert rec.next_after(utc(2030, 6, 1, 0, 0, 1)) == utc(2030, 6, 1, 0, 0, 30)


def test_interval_float_seconds_do_not_drift() -> None:
    """0.1s steps stay exact after a million steps."""
    anchor = utc(2025, 1, 1)
    rec = Interval(0.1, anchor)
    assert rec.next_after(anchor + timedelta(seconds=100_000)) == anchor + timedelta(
        seconds=100_000, microseconds=100_000
    )
    assert series(rec, anchor, 3) == [anchor + timedelta(milliseconds=100 * k) for k in (1, 2, 3)]


def test_interval_non_utc_anchor_is_normalised() -> None:
    """Anchor and results come back in UTC."""
    anchor = datetime(2025, 1, 1, 12, tzinfo=ZoneInfo("Europe/Paris"))
    rec = Interval(60, anchor)
    assert rec.anchor.tzinfo is UTC
    assert rec.anchor == utc(2025, 1, 1, 11)
    assert rec.next_after(utc(2025, 1, 1, 11)).tzinfo is UTC


def test_interval_ignores_dst() -> None:
    """An hourly interval is elapsed time: 1h apart across spring-forward."""
    rec = Interval(3600, utc(2025, 3, 30))
    ticks = series(rec, utc(2025, 3, 30), 4)
    assert [b - a for a, b in itertools.pairwise(ticks)] == [timedelta(hours=1)] * 3


def test_parse_every_int_float_and_timedelta() -> None:
    """Numbers and timedeltas become Intervals on the given anchor."""
    anchor = utc(2025, 1, 1)
    assert parse_every(30, anchor=anchor) == Interval(30.0, anchor)
    assert parse_every(1.5, anchor=anchor).next_after(anchor) == anchor + timedelta(seconds=1.5)
    rec = parse_every(timedelta(minutes=5), anchor=anchor)
    assert rec == Interval(300.0, anchor)
    assert parse_every(timedelta(microseconds=1), anchor=anchor).next_after(anchor) == (
        anchor + timedelta(microseconds=1)
    )


def test_parse_every_default_anchor_is_now() -> None:
    """Without an anchor the first tick is one step from now."""
    before = datetime.now(UTC)
    rec = parse_every(60)
    after = datetime.now(UTC)
    assert isinstance(rec, Interval)
    assert before <= rec.anchor <= after
    assert rec.anchor.tzinfo is UTC


def test_interval_descriptions() -> None:
    """Whole seconds print without a decimal point."""
    anchor = utc(2025, 1, 1)
    assert parse_every(30, anchor=anchor).description == "every 30s"
    assert parse_every(1.5, anchor=anchor).description == "every 1.5s"
    assert parse_every(timedelta(hours=1), anchor=anchor).description == "every 3600s"


# --- Cron: basics ---------------------------------------------------------


def test_cron_basic_ticks_in_utc() -> None:
    """A UTC schedule ticks on the UTC wall clock."""
    rec = parse_every("*/5 * * * *")
    assert rec == Cron("*/5 * * * *", "UTC")
    assert series(rec, utc(2025, 1, 1, 12, 3, 10), 3) == [
        utc(2025, 1, 1, 12, 5),
        utc(2025, 1, 1, 12, 10),
        utc(2025, 1, 1, 12, 15),
    ]


def test_cron_tick_is_exclusive_and_handles_microseconds() -> None:
    """`after` on a tick, or a hair past it, yields the following tick."""
    rec = Cron("0 * * * *")
    assert rec.next_after(utc(2025, 1, 1, 12)) == utc(2025, 1, 1, 13)
    assert rec.next_after(utc(2025, 1, 1, 11, 59, 59, 999_999)) == utc(2025, 1, 1, 12)
    assert rec.next_after(utc(2025, 1, 1, 12, 0, 0, 1)) == utc(2025, 1, 1, 13)


def test_cron_weekday_and_month_fields() -> None:
    """Day-of-week names and month-end rollover work."""
    rec = Cron("0 9 * * MON-FRI")
    assert series(rec, utc(2025, 1, 3, 10), 2) == [utc(2025, 1, 6, 9), utc(2025, 1, 7, 9)]
    assert Cron("0 0 1 * *").next_after(utc(2025, 1, 31, 12)) == utc(2025, 2, 1)


def test_cron_in_new_york_follows_dst() -> None:
    """09:00 New York is 14:00 UTC in winter and 13:00 UTC in summer."""
    rec = parse_every("0 9 * * *", timezone="America/New_York")
    assert rec.next_after(utc(2025, 1, 15)) == utc(2025, 1, 15, 14)
    assert rec.next_after(utc(2025, 7, 15)) == utc(2025, 7, 15, 13)
    assert rec.next_after(utc(2025, 1, 15)).tzinfo is UTC


def test_cron_half_hour_offset_zone() -> None:
    """Top of the hour in Kolkata (+05:30) is half past in UTC."""
    rec = Cron("0 * * * *", "Asia/Kolkata")
    assert rec.next_after(utc(2025, 1, 1, 0, 10)) == utc(2025, 1, 1, 0, 30)


def test_cron_description_and_normalisation() -> None:
    """Whitespace is collapsed and the zone is named."""
    rec = parse_every("  */5  *\t* * * ", timezone="Europe/Paris")
    assert isinstance(rec, Cron)
    assert rec.expression == "*/5 * * * *"
    assert rec.description == "cron '*/5 * * * *' (Europe/Paris)"
    assert Cron("0 0 * * *").description == "cron '0 0 * * *' (UTC)"


@pytest.mark.parametrize(
    ("alias", "expanded"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_cron_aliases_expand(alias: str, expanded: str) -> None:
    """The usual @-aliases are stored as their 5-field forms."""
    assert parse_every(alias) == Cron(expanded)


def test_cron_anchor_is_ignored() -> None:
    """An anchor passed with a cron string does not change its ticks."""
    rec = parse_every("0 * * * *", anchor=utc(2020, 1, 1, 0, 17))
    assert rec == Cron("0 * * * *")


# --- Cron: daylight-saving transitions ------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        # Berlin springs forward 2025-03-30 02:00 CET -> 03:00 CEST:
        # 02:30 does not exist, so that day fires at 03:00 CEST.
        (
            "Europe/Berlin",
            utc(2025, 3, 28, 12),
            [utc(2025, 3, 29, 1, 30), utc(2025, 3, 30, 1), utc(2025, 3, 31, 0, 30)],
        ),
        # Berlin falls back 2025-10-26 03:00 CEST -> 02:00 CET:
        # 02:30 happens twice and fires once, in CEST.
        (
            "Europe/Berlin",
            utc(2025, 10, 24, 12),
            [utc(2025, 10, 25, 0, 30), utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)],
        ),
        # New York springs forward 2025-03-09 02:00 EST -> 03:00 EDT.
        (
            "America/New_York",
            utc(2025, 3, 7, 12),
            [utc(2025, 3, 8, 7, 30), utc(2025, 3, 9, 7), utc(2025, 3, 10, 6, 30)],
        ),
        # New York falls back 2025-11-02 02:00 EDT -> 01:00 EST; 02:30 is
        # not ambiguous there (the repeated hour is 01:00-02:00).
        (
            "America/New_York",
            utc(2025, 10, 31, 12),
            [utc(2025, 11, 1, 6, 30), utc(2025, 11, 2, 7, 30), utc(2025, 11, 3, 7, 30)],
        ),
    ],
)
def test_fixed_time_across_dst(zone: str, start: datetime, expected: list[datetime]) -> None:
    """'30 2 * * *' fires exactly once per day on both transitions."""
    assert series(Cron("30 2 * * *", zone), start, len(expected)) == expected


def test_fixed_time_ambiguous_in_new_york_fires_first_pass() -> None:
    """01:30 on New York's fall-back day fires once, at 01:30 EDT."""
    rec = Cron("30 1 * * *", "America/New_York")
    assert series(rec, utc(2025, 10, 31, 12), 3) == [
        utc(2025, 11, 1, 5, 30),
        utc(2025, 11, 2, 5, 30),
        utc(2025, 11, 3, 6, 30),
    ]


def test_fixed_time_after_in_second_pass_of_overlap() -> None:
    """From inside the repeated hour, first-pass ticks already passed are skipped."""
    rec = Cron("30 2 * * *", "Europe/Berlin")
    # 01:15Z is 02:15 CET, after 02:30 CEST (00:30Z) already fired.
    assert rec.next_after(utc(2025, 10, 26, 1, 15)) == utc(2025, 10, 27, 1, 30)
    every_minute = Cron("0-59 2 * * *", "Europe/Berlin")
    assert every_minute.next_after(utc(2025, 10, 26, 1, 15)) == utc(2025, 10, 27, 1)


def test_gap_tick_coinciding_with_real_tick_fires_once() -> None:
    """'0 2,3' on spring-forward day: 02:00 moves onto 03:00, fired once."""
    rec = Cron("0 2,3 * * *", "Europe/Berlin")
    assert series(rec, utc(2025, 3, 29, 12), 3) == [
        utc(2025, 3, 30, 1),
        utc(2025, 3, 31, 0),
        utc(2025, 3, 31, 1),
    ]


@pytest.mark.parametrize(
    ("zone", "start", "local_walls"),
    [
        # Berlin spring: local 01:00, 01:30, then 03:00, 03:30, 04:00.
        ("Europe/Berlin", utc(2025, 3, 29, 23, 40), ["01:00", "01:30", "03:00", "03:30", "04:00"]),
        # Berlin fall: 02:00 and 02:30 occur in CEST and again in CET.
        (
            "Europe/Berlin",
            utc(2025, 10, 25, 23, 40),
            ["02:00", "02:30", "02:00", "02:30", "03:00"],
        ),
        (
            "America/New_York",
            utc(2025, 3, 9, 5, 40),
            ["01:00", "01:30", "03:00", "03:30", "04:00"],
        ),
        (
            "America/New_York",
            utc(2025, 11, 2, 4, 40),
            ["01:00", "01:30", "01:00", "01:30", "02:00"],
        ),
    ],
)
def test_wildcard_cron_follows_elapsed_time(
    zone: str, start: datetime, local_walls: list[str]
) -> None:
    """'*/30 * * * *' ticks every 30 real minutes straight through DST."""
    ticks = series(Cron("*/30 * * * *", zone), start, len(local_walls))
    first = start.replace(minute=0) + timedelta(hours=1)
    assert ticks == [first + timedelta(minutes=30 * k) for k in range(len(local_walls))]
    tz = ZoneInfo(zone)
    assert [t.astimezone(tz).strftime("%H:%M") for t in ticks] == local_walls


def test_wildcard_minute_in_repeated_hour_fires_in_both_passes() -> None:
    """'*/30 2 * * *' in Berlin's overlap fires at four distinct instants."""
    rec = Cron("*/30 2 * * *", "Europe/Berlin")
    assert series(rec, utc(2025, 10, 25, 12), 5) == [
        utc(2025, 10, 26, 0),  # 02:00 CEST
        utc(2025, 10, 26, 0, 30),  # 02:30 CEST
        utc(2025, 10, 26, 1),  # 02:00 CET
        utc(2025, 10, 26, 1, 30),  # 02:30 CET
        utc(2025, 10, 27, 1),  # next day, 02:00 CET
    ]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
@pytest.mark.parametrize(
    "expression", ["30 2 * * *", "0 1-3 * * *", "0-59/20 2 * * *", "*/30 * * * *", "15 */2 * * *"]
)
def test_year_of_ticks_strictly_increasing(zone: str, expression: str) -> None:
    """A year of ticks never repeats, never goes back, never stalls."""
    rec = Cron(expression, zone)
    ticks = series(rec, utc(2025, 1, 1), 1000)
    assert all(a < b for a, b in itertools.pairwise(ticks))
    assert all(t.tzinfo is UTC for t in ticks)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_daily_fixed_time_fires_once_per_local_day(zone: str) -> None:
    """'30 2 * * *' fires on every local date of 2025 exactly once."""
    tz = ZoneInfo(zone)
    ticks = fire_times_between(Cron("30 2 * * *", zone), utc(2024, 12, 31), utc(2026, 1, 2), 1000)
    days = [t.astimezone(tz).date() for t in ticks]
    in_2025 = [d for d in days if d.year == 2025]
    assert len(in_2025) == len(set(in_2025)) == 365
    assert min(in_2025) == date(2025, 1, 1)


# --- Bad input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "match"),
    [
        (0, r"interval must be positive, got 0 seconds"),
        (-5, r"interval must be positive, got -5 seconds"),
        (0.0, r"interval must be positive, got 0.0 seconds"),
        (timedelta(0), r"interval must be positive, got datetime.timedelta\(0\)"),
        (timedelta(seconds=-1), r"interval must be positive, got datetime.timedelta\(days=-1"),
        (math.nan, r"interval must be a finite number of seconds, got nan"),
        (math.inf, r"interval must be a finite number of seconds, got inf"),
        (-math.inf, r"interval must be a finite number of seconds, got -inf"),
        (10**400, r"interval must be a finite number of seconds, got 1000"),
        (1e-9, r"interval must be at least 1 microsecond, got 1e-09"),
        (1e20, r"interval is too large, got 1e\+20 seconds"),
    ],
)
def test_bad_intervals(every: object, match: str) -> None:
    """Zero, negative, non-finite and out-of-range steps are ValueErrors."""
    with pytest.raises(ValueError, match=match):
        parse_every(every, anchor=utc(2025, 1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expression", "match"),
    [
        ("", r"invalid cron expression '': expected 5 fields .*got 0"),
        ("* * * *", r"invalid cron expression '\* \* \* \*': expected 5 fields .*got 4"),
        ("30", r"invalid cron expression '30': expected 5 fields .*got 1"),
        ("* * * * * * *", r"expected 5 fields .*got 7"),
        ("0 * * * * *", r"invalid cron expression '0 \* \* \* \* \*': 6 fields .*seconds"),
        ("61 * * * *", r"invalid cron expression '61 \* \* \* \*': Bad minute"),
        ("* 24 * * *", r"invalid cron expression '\* 24 \* \* \*': Bad hour"),
        ("* * 32 * *", r"Bad day-of-month"),
        ("* * 0 * *", r"Bad day-of-month"),
        ("* * * 13 *", r"Bad month"),
        ("* * * * 8", r"Bad day-of-week"),
        ("*/0 * * * *", r"Bad minute"),
        ("5-1 * * * *", r"Bad minute"),
        ("0 0 30 2 *", r"invalid cron expression '0 0 30 2 \*': Bad day-of-month"),
        ("foo bar baz qux quux", r"invalid cron expression 'foo bar baz qux quux': Bad minute"),
        ("@reboot", r"unsupported cron alias '@reboot' \(supported: @yearly"),
        ("@every 5m", r"unsupported cron alias '@every 5m'"),
        ("@fortnightly", r"unsupported cron alias '@fortnightly'"),
    ],
)
def test_bad_cron_expressions(expression: str, match: str) -> None:
    """Malformed, 6-field and unknown-alias expressions are ValueErrors."""
    with pytest.raises(ValueError, match=match):
        parse_every(expression)


@pytest.mark.parametrize("zone", ["Mars/Base", "", "../etc/passwd", "utc "])
def test_unknown_time_zone(zone: str) -> None:
    """Unknown or malformed zone names are ValueErrors naming the zone."""
    with pytest.raises(ValueError, match=rf"^unknown time zone {zone!r}$"):
        parse_every("0 9 * * *", timezone=zone)
    with pytest.raises(ValueError, match="unknown time zone"):
        Cron("0 9 * * *", zone)


@pytest.mark.parametrize("every", [30, 2.5, timedelta(seconds=30)])
def test_timezone_with_interval_is_rejected(every: object) -> None:
    """A time zone has no meaning for elapsed-time intervals."""
    with pytest.raises(ValueError, match=r"timezone applies to cron only.*'UTC'"):
        parse_every(every, timezone="UTC")  # type: ignore[arg-type]


@pytest.mark.parametrize("every", [True, False, None, [30], b"* * * * *", Decimal("30")])
def test_parse_every_rejects_other_types(every: object) -> None:
    """Bools and other non-numeric, non-str values are TypeErrors."""
    with pytest.raises(TypeError, match=r"every must be seconds \(int or float\), a timedelta"):
        parse_every(every)  # type: ignore[arg-type]


def test_direct_constructors_validate() -> None:
    """Interval and Cron validate on construction, not at first use."""
    with pytest.raises(TypeError, match="interval seconds must be int or float, got bool"):
        Interval(True, utc(2025, 1, 1))
    with pytest.raises(ValueError, match="interval must be positive"):
        Interval(-1, utc(2025, 1, 1))
    with pytest.raises(ValueError, match="Bad minute"):
        Cron("99 * * * *")
    with pytest.raises(TypeError, match="cron expression must be a str, got int"):
        Cron(5)  # type: ignore[arg-type]


def test_naive_datetimes_are_rejected() -> None:
    """Naive anchors and `after` values are ValueErrors."""
    naive = datetime(2025, 1, 1)
    with pytest.raises(ValueError, match=r"anchor must be timezone-aware, got naive"):
        parse_every(30, anchor=naive)
    with pytest.raises(ValueError, match=r"after must be timezone-aware"):
        Cron("* * * * *").next_after(naive)
    with pytest.raises(ValueError, match=r"after must be timezone-aware"):
        Interval(30, utc(2025, 1, 1)).next_after(naive)


# --- fire_times_between ---------------------------------------------------


class CountingRecurrence:
    """Wraps a recurrence and counts next_after calls."""

    def __init__(self, inner: Recurrence) -> None:
        self.inner = inner
        self.calls = 0
        self.description = inner.description

    def next_after(self, after: datetime) -> datetime:
        """Delegate and count."""
        self.calls += 1
        return self.inner.next_after(after)


def test_fire_times_between_bounds() -> None:
    """`after` is exclusive, `until` inclusive."""
    rec = Cron("0 * * * *")
    assert fire_times_between(rec, utc(2025, 1, 1, 0), utc(2025, 1, 1, 3), 10) == [
        utc(2025, 1, 1, 1),
        utc(2025, 1, 1, 2),
        utc(2025, 1, 1, 3),
    ]


def test_fire_times_between_keeps_latest_ticks() -> None:
    """With more ticks than `limit`, the most recent ones are kept, ascending."""
    rec = Cron("0 * * * *")
    assert fire_times_between(rec, utc(2025, 1, 1, 0), utc(2025, 1, 1, 10, 30), 2) == [
        utc(2025, 1, 1, 9),
        utc(2025, 1, 1, 10),
    ]
    interval = Interval(60, utc(2025, 1, 1))
    assert fire_times_between(interval, utc(2025, 1, 1), utc(2025, 1, 1, 1), 1) == [
        utc(2025, 1, 1, 1)
    ]


def test_fire_times_between_empty_windows() -> None:
    """No ticks, or an empty/inverted window, gives an empty list."""
    rec = Cron("0 0 * * *")
    assert fire_times_between(rec, utc(2025, 1, 1, 1), utc(2025, 1, 1, 23), 5) == []
    assert fire_times_between(rec, utc(2025, 1, 2), utc(2025, 1, 2), 5) == []
    assert fire_times_between(rec, utc(2025, 1, 3), utc(2025, 1, 2), 5) == []


def test_fire_times_between_long_outage_is_cheap() -> None:
    """Years of missed per-second/per-minute ticks need few next_after calls."""
    interval = CountingRecurrence(Interval(1, utc(2015, 1, 1)))
    got = fire_times_between(interval, utc(2015, 1, 1), utc(2025, 1, 1), 3)
    assert got == [utc(2024, 12, 31, 23, 59, 58), utc(2024, 12, 31, 23, 59, 59), utc(2025, 1, 1)]
    assert interval.calls < 20
    cron = CountingRecurrence(Cron("* * * * *", "Europe/Berlin"))
    got = fire_times_between(cron, utc(2020, 1, 1), utc(2025, 1, 1, 0, 0, 30), 2)
    assert got == [utc(2024, 12, 31, 23, 59), utc(2025, 1, 1)]
    assert cron.calls < 20


@pytest.mark.parametrize("limit", [1, 2, 5, 11, 100])
@pytest.mark.parametrize("expression", ["0-4 9 * * *", "30 2 * * *", "*/30 2 * * *", "0 9 1 * *"])
def test_fire_times_between_matches_brute_force(expression: str, limit: int) -> None:
    """Windowed catch-up equals the tail of a plain tick-by-tick walk."""
    rec = Cron(expression, "Europe/Berlin")
    after, until = utc(2025, 3, 1), utc(2025, 11, 15)
    everything = []
    tick = rec.next_after(after)
    while tick <= until:
        everything.append(tick)
        tick = rec.next_after(tick)
    assert fire_times_between(rec, after, until, limit) == everything[-limit:]


def test_fire_times_between_across_dst() -> None:
    """Catch-up over Berlin's fall-back yields each instant once."""
    rec = Cron("*/30 * * * *", "Europe/Berlin")
    got = fire_times_between(rec, utc(2025, 10, 25, 23, 45), utc(2025, 10, 26, 2), 10)
    assert got == [utc(2025, 10, 26) + timedelta(minutes=30 * k) for k in range(5)]


@pytest.mark.parametrize(
    ("limit", "exc"), [(0, ValueError), (-1, ValueError), (True, TypeError), (1.0, TypeError)]
)
def test_fire_times_between_bad_limit(limit: object, exc: type[Exception]) -> None:
    """The limit must be an int of at least 1."""
    with pytest.raises(exc, match="limit must be"):
        window = (utc(2025, 1, 1), utc(2025, 1, 2))
        fire_times_between(Cron("* * * * *"), *window, limit)  # type: ignore[arg-type]


def test_fire_times_between_rejects_naive() -> None:
    """Window bounds must be aware."""
    with pytest.raises(ValueError, match="until must be timezone-aware"):
        fire_times_between(Cron("* * * * *"), utc(2025, 1, 1), datetime(2025, 1, 2), 1)
