"""HTML rendering: the Jinja environment (autoescaping everything) and its filters."""
from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timezone
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ..limits import MAX_SHOWN_VALUE_CHARS
from .charts import bar_svg, progress_of

LIVE_HEADER = "x-tasker-live"   # sent by tasker.js: answer with the page's live region only

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


def progress(value: Any) -> Markup:
    """A task's progress as a bar and its label when the value says how far it is, else as
    short text (a value of another shape), or nothing when there is none."""
    if value is None:
        return Markup("")
    fraction, label = progress_of(value)
    if fraction is None:
        return Markup('<span class="progress-text">{}</span>').format(compact(value, 40))
    return Markup('<span class="progress-cell">{}<span>{}</span></span>').format(bar_svg(fraction, label), visible(label))


def error_line(text: str | None, limit: int = 140) -> str:
    """The line of an error that says what went wrong: a traceback's last line (the exception)."""
    if not text:
        return ""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = visible(lines[-1] if lines else "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def short_id(task_id: str) -> str:
    """The part of a time-ordered id that tells tasks apart (the leading part is their creation time)."""
    return "…" + task_id[-12:]


ENV = Environment(loader=PackageLoader("tasker.web", "templates"), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(visible=visible, pretty=pretty, compact=compact, when=when, ago=ago, duration=duration, between=between,
                   progress=progress, error_line=error_line, short_id=short_id)
ENV.globals.update(STATUS_LABELS=STATUS_LABELS)
ENV.globals.update(ui=ENV.get_template("_macros.html").module)   # the macros, also in a live region rendered alone


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
    found = ENV.get_template(template)
    values = {**base, **context}
    if request.headers.get(LIVE_HEADER) and "live" in found.blocks:
        html = "".join(found.blocks["live"](found.new_context(values)))
    else:
        html = found.render(values)
    response = HTMLResponse(html, status_code=status, headers={"Vary": "X-Tasker-Live"})
    web.csrf.attach(request, response)
    return response
