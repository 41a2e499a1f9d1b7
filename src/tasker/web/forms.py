"""The dashboard's forms: reading a POSTed form under its size limit and its CSRF check, and
answering with a redirect (Post/Redirect/Get) that may carry a notice."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .csrf import FIELD
from .render import page, root
from .validation import BodyTooLarge, read_body

FORM_LIMIT = 16 * 1024

Form = ImmutableMultiDict   # ``form.get(name)``: the last value given; ``form.getlist(name)``: every one


async def read_form(request: Request, limit: int = FORM_LIMIT) -> Form | None:
    """The urlencoded form, or None when it is larger than ``limit`` bytes."""
    try:
        raw = await read_body(request, limit)
    except BodyTooLarge:
        return None
    return Form(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


async def checked_form(request: Request, binding: str | None = None, limit: int = FORM_LIMIT) -> Form | Response:
    """The form, or the page refusing it: too large (413), or its CSRF token missing, stale or
    from another site (403)."""
    form = await read_form(request, limit)
    if form is None:
        return page(request, "message.html", {"heading": "Too large", "message": "The form is too large.", "back": "/"}, 413)
    if not request.app.state.web.csrf.check(request, form.get(FIELD), binding):
        return page(request, "message.html", {
            "heading": "Form expired", "back": "/",
            "message": "This form's security token is missing or stale (or it came from another site). Reload the page and try again.",
        }, 403)
    return form


def redirect(request: Request, path: str, notice: str | None = None, **details: str) -> Response:
    """303 to ``path`` under the mount prefix; ``notice`` (and its ``details``) name the message shown there."""
    extra = urlencode({"notice": notice, **details}) if notice else ""
    target = root(request) + path + (("&" if "?" in path else "?") + extra if extra else "")
    return RedirectResponse(target, status_code=303)
