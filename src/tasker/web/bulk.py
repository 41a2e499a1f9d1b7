"""Bulk actions from the task list: cancel, retry, run now or delete the ticked tasks, or every
task matching the list's filters. The first POST shows what would change, counted, and asks;
the confirmed one acts (at most ``MAX_BULK_PER_REQUEST`` tasks, in batches) and says how many
changed. Both are CSRF-checked POSTs; a task is changed only as its one-task button would."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..ids import is_id
from ..limits import MAX_BULK_PER_REQUEST, MAX_COUNTED, MAX_SELECTED_IDS
from ..task import ACTION_NAMES, ACTIONS
from .forms import Form, checked_form, redirect
from .listing import Listing, read_listing
from .render import page

VERBS = {"retry": "Retry", "cancel": "Cancel", "run_now": "Run now", "delete": "Delete"}
SCOPES = ("selected", "matching")
# Which tasks each action changes, in words (the rules are task.ACTIONS and task.allows).
APPLIES = {
    "cancel": "queued and running tasks (a running one is asked to stop, unless its handler may not be interrupted)",
    "retry": "failed and cancelled tasks (of several holding one unique key, only one is queued again)",
    "run_now": "queued tasks that are not due yet",
    "delete": "tasks that are not running",
}
# A form with a full page of ticked ids (500 of them) and the list's filters.
FORM_LIMIT = 64 * 1024
assert set(VERBS) == set(APPLIES) == set(ACTIONS)


def notice(action: str, count: str, more: bool) -> dict[str, str] | None:
    """The message after a bulk action: how many tasks changed."""
    if action not in ACTION_NAMES or not count.isdigit():
        return None
    n = int(count)
    text = f"{n:,} task{'' if n == 1 else 's'} {ACTION_NAMES[action]}."
    if more:
        text += f" More match: one action changes at most {MAX_BULK_PER_REQUEST:,} tasks, so repeat it for the rest."
    return {"kind": "ok", "text": text}


def _choice(form: Form) -> tuple[str, str] | None:
    """``(scope, action)`` from the button pressed: ``selected:retry``, ``matching:delete``..."""
    scope, _, action = (form.get("choice") or "").partition(":")
    return (scope, action) if scope in SCOPES and action in VERBS else None


def _selection(scope: str, listing: Listing, form: Form) -> dict[str, Any]:
    """The filters of ``app.count`` / ``app.bulk``: the ticked ids, or the list's filters."""
    if scope == "selected":
        ids = list(dict.fromkeys(i.strip().lower() for i in form.getlist("id") if is_id(i.strip())))
        return {"ids": ids[:MAX_SELECTED_IDS]}
    return listing.selection()


async def act(request: Request) -> Response:
    """POST /tasks/bulk: without ``confirmed``, the confirmation page; with it, the action."""
    form = await checked_form(request, limit=FORM_LIMIT)
    if isinstance(form, Response):
        return form
    listing = read_listing(form)
    back = "/tasks?" + listing.query()
    choice = _choice(form)
    if choice is None:
        return redirect(request, back)
    scope, action = choice
    selection = _selection(scope, listing, form)
    if scope == "selected" and not selection["ids"]:
        return redirect(request, back, "bulk-none")
    tasker = request.app.state.web.tasker
    upto = (form.get("upto") or "").lower()
    if form.get("confirmed") == "1":
        limits = {"upto": upto if is_id(upto) else None}
        changed = await tasker.abulk(action, **selection, **limits, limit=MAX_BULK_PER_REQUEST)
        more = changed >= MAX_BULK_PER_REQUEST and await tasker.acount(**selection, **limits, action=action, cap=1) > 0
        return redirect(request, back, "bulk", action=action, n=str(changed), **({"more": "1"} if more else {}))
    newest = await tasker.apage(limit=1)   # what exists now: tasks created after the confirmation are left out
    applicable = await tasker.acount(**selection, action=action, cap=MAX_COUNTED)
    matching = await tasker.acount(**selection, cap=MAX_COUNTED)
    return page(request, "bulk.html", {
        "nav": "tasks", "listing": listing, "scope": scope, "action": action, "verb": VERBS[action],
        "applies": APPLIES[action], "ids": selection.get("ids", []), "applicable": applicable, "matching": matching,
        "upto": newest.tasks[0].id if newest.tasks else "", "capped": MAX_COUNTED, "per_request": MAX_BULK_PER_REQUEST,
        "back": back,
    })
