"""CSRF protection: a signed double-submit token.

Every page sets a ``tasker_csrf`` cookie (HttpOnly, SameSite=Strict) and
puts the same value in each form; a POST is accepted only when the submitted
value equals the cookie and carries our signature over the caller's session
(so a token planted from a sibling subdomain, or obtained anonymously, is
useless), and the browser does not say it came from another origin.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from .auth import HOST_CALLER, SESSION_COOKIE, Auth

COOKIE = "tasker_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


ANONYMOUS = "anonymous"


class Csrf:
    def __init__(self, auth: Auth):
        self.auth = auth
        self.key = auth.key

    def _sign(self, nonce: str, binding: str) -> str:
        return hmac.new(self.key, f"csrf\0{binding}\0{nonce}".encode(), hashlib.sha256).hexdigest()

    def new(self, binding: str) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign(nonce, binding)}"

    def valid(self, token: str, binding: str) -> bool:
        nonce, _, signature = token.rpartition(".")
        return bool(nonce) and hmac.compare_digest(signature.encode(), self._sign(nonce, binding).encode())

    def token(self, request: Request) -> str:
        """The token for forms on this page: the cookie's, or a fresh one (set by ``attach``)."""
        current = request.cookies.get(COOKIE, "")
        if current and self.valid(current, self.binding(request)):
            return current
        fresh = getattr(request.state, "csrf_fresh", None) or self.new(self.binding(request))
        request.state.csrf_fresh = fresh
        return fresh

    def attach(self, request: Request, response: Response) -> None:
        """Set the cookie if ``token`` had to make a new one for this page."""
        fresh = getattr(request.state, "csrf_fresh", None)
        if fresh:
            response.set_cookie(COOKIE, fresh, path=cookie_path(request), httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")

    def check(self, request: Request, submitted: str | None, binding: str | None = None) -> bool:
        """True when ``submitted`` (form field or header) proves the request came from our own page,
        for the credentials it carries (or ``binding``). A browser that says the request came from
        another origin (even a sibling subdomain: ``same-site``) is refused whatever it sends."""
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return False
        cookie = request.cookies.get(COOKIE, "")
        if not cookie or not submitted:
            return False
        bound = self.binding(request) if binding is None else binding
        return hmac.compare_digest(cookie.encode(), submitted.encode()) and self.valid(cookie, bound)

    def binding(self, request: Request) -> str:
        """What a token is bound to: the signed-in session, or the basic-auth credentials, so a
        token someone obtained anonymously (and planted as a cookie) is worthless for anyone signed in."""
        session = request.cookies.get(SESSION_COOKIE, "")
        if session and self.auth.session_ok(session):
            return "session:" + session.partition(".")[2].partition(".")[0]
        host_caller = request.scope.get(HOST_CALLER)
        if host_caller:
            return "host:" + hashlib.sha256(str(host_caller).encode("utf-8", "surrogatepass")).hexdigest()
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            return "basic:" + hashlib.sha256(authorization.encode("utf-8", "surrogatepass")).hexdigest()
        return ANONYMOUS


def cookie_path(request: Request) -> str:
    return request.scope.get("root_path", "") or "/"
