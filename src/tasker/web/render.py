"""HTML rendering: the Jinja environment (autoescaping everything) and its filters."""
from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timezone
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from ..limits import MAX_SHOWN_VALUE_CHARS
from starlette.requests import Request
from starlette.responses import HTMLResponse

# Bidi controls can visually reorder text ("Trojan Source"): shown escaped, like control characters.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
STATUS_LABELS = {"queued": "Queued", "running": "Running", "succeeded": "Succeeded", "failed": "Failed", "cancelled": "Cancelled"}


def visible(value: Any, multiline: bool = False) -> str:
    """``str(value)`` with control and bidi characters shown as escapes (HTML escaping comes after)."""
    if value is None:
        return ""
    keep = "\n\t" if multiline else ""
    out = []
    for ch in str(value):
        if ch not in keep and (ch in BIDI or unicodedata.category(ch) in ("Cc", "Cs")):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def pretty(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)
    if len(text) > MAX_SHOWN_VALUE_CHARS:   # the page stays light; the JSON API has it whole
        text = text[:MAX_SHOWN_VALUE_CHARS] + f"\n… ({len(text):,} characters in all: see the JSON API for the whole value)"
    return visible(text, multiline=True)


def compact(value: Any, limit: int = 80) -> str:
    text = visible(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)[: limit * 8])
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = abs(seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """``"5.0 s ago"`` or ``"in 3 min 0 s"``."""
    if value is None:
        return ""
    delta = ((now or datetime.now(timezone.utc)) - value).total_seconds()
    if abs(delta) < 0.5:
        return "just now"
    return f"{duration(delta)} ago" if delta > 0 else f"in {duration(delta)}"


def between(start: datetime | None, end: datetime | None) -> str:
    return "" if start is None or end is None else duration((end - start).total_seconds())


ENV = Environment(loader=PackageLoader("tasker.web", "templates"), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(visible=visible, pretty=pretty, compact=compact, when=when, ago=ago, duration=duration, between=between)
ENV.globals.update(STATUS_LABELS=STATUS_LABELS)


def root(request: Request) -> str:
    """The mount prefix, so links work when the app is mounted under a path."""
    return request.scope.get("root_path", "").rstrip("/")


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a template with what every page needs (links, CSRF token, who is signed in)."""
    web = request.app.state.web
    caller = getattr(request.state, "caller", None)
    base = {
        "root": root(request),
        "csrf_token": web.csrf.token(request),
        "caller": caller.how if caller else None,
        "store": web.store_label if caller else "",   # a refused visitor learns nothing of the database
        "now": datetime.now(timezone.utc),
        "nav": "",
        "notice": None,
    }
    html = ENV.get_template(template).render({**base, **context})
    response = HTMLResponse(html, status_code=status)
    web.csrf.attach(request, response)
    return response
