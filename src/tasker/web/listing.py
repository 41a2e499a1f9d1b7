"""The task list's filters and page, as the dashboard reads them from a query string or a form (pure).

A value that cannot match anything (an unknown status, a name with control characters, an
id that is no id) is dropped with a word of why, and the list shows the rest: a bookmarked
or hand-edited link degrades instead of failing.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlencode

from .. import checks
from ..errors import InputError
from ..ids import is_id
from ..task import STATUSES

FILTERS = ("status", "type", "queue", "error", "series")
PAGE_SIZES = (50, 100, 250, 500)
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Listing:
    """What the task list shows: its filters (empty: any), where the page starts and its size."""

    status: str = ""
    type: str = ""
    queue: str = ""
    error: str = ""       # a case-insensitive substring of the last error
    series: str = ""      # the runs of this recurring series
    after: str = ""       # the page starts after (older than) this task id
    limit: int = DEFAULT_PAGE_SIZE
    ignored: tuple[str, ...] = ()   # why a given value was dropped, in words

    def filters(self) -> dict[str, str]:
        """The filters given, by their query-string names."""
        return {name: getattr(self, name) for name in FILTERS if getattr(self, name)}

    @property
    def filtered(self) -> bool:
        return bool(self.filters())

    def selection(self) -> dict[str, Any]:
        """The filters as ``app.page`` / ``app.count`` / ``app.bulk`` keyword arguments."""
        return {"status": self.status or None, "type": self.type or None, "queue": self.queue or None,
                "error": self.error or None, "series_id": self.series or None}

    def query(self, **changes: str) -> str:
        """The query string of this list (first page), with ``changes`` (``after=...``, ``status=""``)."""
        values: dict[str, Any] = {**self.filters(), **({"limit": self.limit} if self.limit != DEFAULT_PAGE_SIZE else {})}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v})

    def words(self) -> list[str]:
        """The filters in words, for a confirmation ("status failed", "error contains 'timeout'")."""
        said = {"status": "status {}", "type": "type {}", "queue": "queue {}", "error": "error contains “{}”", "series": "series {}"}
        return [said[name].format(value) for name, value in self.filters().items()]


def read_listing(values: Mapping[str, str]) -> Listing:
    """A ``Listing`` from query-string or form values; what cannot match anything is dropped."""
    given = {name: (values.get(name) or "").strip() for name in (*FILTERS, "after")}
    ignored = []
    if given["status"] and given["status"] not in STATUSES:
        given["status"] = ""
        ignored.append("Unknown status: showing every status.")
    for name in ("type", "queue", "error"):
        if given[name]:
            try:
                checks.name(given[name], name)
            except InputError:
                given[name] = ""
                ignored.append(f"That {name} cannot match (control characters or too long): filter ignored.")
    for name in ("series", "after"):
        if given[name] and not is_id(given[name]):
            given[name] = ""
            ignored.append(f"That {name} is not an id: ignored.")
        given[name] = given[name].lower()
    size = values.get("limit") or ""
    limit = int(size) if size.isdigit() and int(size) in PAGE_SIZES else DEFAULT_PAGE_SIZE
    return Listing(**given, limit=limit, ignored=tuple(ignored))


def without(listing: Listing, *names: str) -> Listing:
    """The same list with these filters cleared."""
    cleared: dict[str, Any] = {name: "" for name in names}
    return dataclasses.replace(listing, **cleared)
