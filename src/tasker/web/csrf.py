"""CSRF protection: a signed double-submit token.

Every page sets a ``tasker_csrf`` cookie (HttpOnly, SameSite=Strict) and
puts the same value in each form; a POST is accepted only when the submitted
value equals the cookie and carries our signature (so a cookie planted from a
sibling subdomain is useless), and the browser does not say it is cross-site.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "tasker_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


class Csrf:
    def __init__(self, key: bytes):
        self.key = key

    def _sign(self, nonce: str) -> str:
        return hmac.new(self.key, f"csrf\0{nonce}".encode(), hashlib.sha256).hexdigest()

    def new(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign(nonce)}"

    def valid(self, token: str) -> bool:
        nonce, _, signature = token.rpartition(".")
        return bool(nonce) and hmac.compare_digest(signature.encode(), self._sign(nonce).encode())

    def token(self, request: Request) -> str:
        """The token for forms on this page: the cookie's, or a fresh one (set by ``attach``)."""
        current = request.cookies.get(COOKIE, "")
        if current and self.valid(current):
            return current
        fresh = getattr(request.state, "csrf_fresh", None) or self.new()
        request.state.csrf_fresh = fresh
        return fresh

    def attach(self, request: Request, response: Response) -> None:
        """Set the cookie if ``token`` had to make a new one for this page."""
        fresh = getattr(request.state, "csrf_fresh", None)
        if fresh:
            response.set_cookie(COOKIE, fresh, path=cookie_path(request), httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")

    def check(self, request: Request, submitted: str | None) -> bool:
        """True when ``submitted`` (form field or header) proves the request came from our own page."""
        if request.headers.get("sec-fetch-site", "") == "cross-site":
            return False
        cookie = request.cookies.get(COOKIE, "")
        if not cookie or not submitted:
            return False
        return hmac.compare_digest(cookie.encode(), submitted.encode()) and self.valid(cookie)


def cookie_path(request: Request) -> str:
    return request.scope.get("root_path", "") or "/"
