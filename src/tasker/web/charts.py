"""Server-rendered SVG charts (pure functions; no JavaScript, no inline styles, so CSP stays strict)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable, TypeGuard

from markupsafe import Markup, escape

WIDTH, HEIGHT = 1200, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 26


def _nice_max(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^n at or above ``value`` (at least 4), so gridlines fall on round numbers."""
    value = max(value, 4)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def throughput_svg(rows: Iterable[tuple[float, str, int]], now: float, minutes: int = 60) -> Markup:
    """Stacked bars per minute, succeeded below failed, for the last ``minutes`` minutes (UTC axis)."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"succeeded": 0, "failed": 0})
    for minute, status, count in rows:
        if status in ("succeeded", "failed"):
            counts[int(minute) // 60 * 60][status] += int(count)
    last = int(now) // 60 * 60
    first = last - (minutes - 1) * 60
    peak = _nice_max(max((c["succeeded"] + c["failed"] for m, c in counts.items() if m >= first), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / minutes
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Tasks finished per minute, last {minutes} minutes">']
    for i in range(5):  # gridlines and y labels
        value = peak * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    for n in range(minutes):
        minute = first + n * 60
        c = counts.get(minute, {"succeeded": 0, "failed": 0})
        x = LEFT + n * slot + 1
        base: float = TOP + plot_h
        label = datetime.fromtimestamp(minute, timezone.utc).strftime("%H:%M")
        title = escape(f"{label} UTC: {c['succeeded']} succeeded, {c['failed']} failed")
        parts.append(f"<g><title>{title}</title>")
        parts.append(f'<rect class="slot" x="{x:.1f}" y="{TOP}" width="{slot - 2:.1f}" height="{plot_h}"/>')
        for status in ("succeeded", "failed"):
            h = plot_h * c[status] / peak
            if h > 0:
                base -= h
                parts.append(f'<rect class="bar {status}" x="{x:.1f}" y="{base:.1f}" width="{slot - 2:.1f}" height="{h:.1f}"/>')
        parts.append("</g>")
        if n % 10 == 0 or n == minutes - 1:
            parts.append(f'<text class="axis" x="{x + (slot - 2) / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_svg(fraction: float, label: str) -> Markup:
    """A small horizontal progress bar."""
    fraction = min(max(fraction, 0.0), 1.0)
    return Markup(
        f'<svg class="progress" viewBox="0 0 200 12" role="img" aria-label="{escape(label)}">'
        f'<rect class="track" x="0" y="0" width="200" height="12" rx="6"/>'
        f'<rect class="fill" x="0" y="0" width="{200 * fraction:.1f}" height="12" rx="6"/></svg>'
    )


def progress_of(value: Any) -> tuple[float | None, str]:
    """How far a ``ctx.progress`` value says its task is: a fraction and its label when it has a
    form that says so (a fraction from 0 to 1, a percentage up to 100, ``{"done": n, "total": m}``
    or ``"current"`` for ``"done"``, ``{"percent": p}``, ``{"fraction": f}``; a ``"message"``,
    ``"stage"`` or ``"step"`` beside them joins the label), else None and no label.

    >>> progress_of({"done": 3, "total": 4, "stage": "upload"})
    (0.75, '3 of 4 · upload')
    """
    note = ""
    if isinstance(value, dict):
        words = next((value[k] for k in ("message", "stage", "step") if isinstance(value.get(k), str)), "")
        note = f" · {words}" if words else ""
        done, total = value.get("done", value.get("current")), value.get("total")
        if _number(done) and _number(total) and total > 0 and 0 <= done <= total:
            return done / total, f"{done:g} of {total:g}{note}"
        percent, fraction = value.get("percent"), value.get("fraction")
        if _number(percent) and 0 <= percent <= 100:
            return percent / 100, f"{percent / 100:.0%}{note}"
        value = fraction if _number(fraction) and fraction <= 1 else None
    if _number(value) and 0 <= value <= 100:
        fraction = value if value <= 1 else value / 100   # a bare number above 1 is a percentage
        return fraction, f"{fraction:.0%}{note}"
    return None, ""


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and abs(value) != float("inf")
