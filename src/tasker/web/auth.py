"""Who is calling: a bearer token, HTTP basic auth, a signed login cookie, or a loopback client."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass

from starlette.requests import HTTPConnection

SESSION_COOKIE = "tasker_session"
SESSION_SECONDS = 12 * 3600
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
# Set by reverse proxies: a request that went through one did not come from this machine's user.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


@dataclass(frozen=True)
class Caller:
    """How a request proved who it is."""

    how: str  # "bearer", "basic", "session" or "loopback"

    @property
    def ambient(self) -> bool:
        """True when a browser attaches the credential by itself, so a forged
        cross-site request would carry it too: such callers need a CSRF token."""
        return self.how != "bearer"


def equal(given: str, expected: str) -> bool:
    """Constant-time comparison of two strings (any characters)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


class Auth:
    """The dashboard's and API's access policy (the cron endpoints have their own)."""

    def __init__(self, token: str | None, basic_auth: tuple[str, str] | None, allow_unauthenticated_loopback: bool):
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError("token must be a non-empty string (or None)")
        if basic_auth is not None:
            if len(basic_auth) != 2 or not all(isinstance(p, str) and p for p in basic_auth) or ":" in basic_auth[0]:
                raise ValueError("basic_auth must be a (username, password) pair of non-empty strings, no ':' in the username")
            basic_auth = (basic_auth[0], basic_auth[1])
        self.token = token
        self.basic = basic_auth
        self.loopback = allow_unauthenticated_loopback
        secret = f"{token or ''}\0{':'.join(basic_auth or ())}".encode()
        # Derived from the credentials, so every process of a deployment signs alike
        # and changing the token signs everyone out; random when there are none.
        self.key = hashlib.sha256(b"tasker-web\0" + secret).digest() if self.configured else secrets.token_bytes(32)

    @property
    def configured(self) -> bool:
        return self.token is not None or self.basic is not None

    def identify(self, conn: HTTPConnection) -> Caller | None:
        """The caller, or None when the request must be refused."""
        scheme, _, value = conn.headers.get("authorization", "").partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if self.token is not None and scheme == "bearer" and equal(value, self.token):
            return Caller("bearer")
        if self.basic is not None and scheme == "basic" and self._basic_ok(value):
            return Caller("basic")
        if self.token is not None and self.session_ok(conn.cookies.get(SESSION_COOKIE, "")):
            return Caller("session")
        if not self.configured and self.loopback and is_loopback(conn):
            return Caller("loopback")
        return None

    def _basic_ok(self, value: str) -> bool:
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        assert self.basic is not None
        # Both compared every time, so timing does not tell which one was wrong.
        return bool(sep) & equal(user, self.basic[0]) & equal(password, self.basic[1])

    def check_token(self, token: str) -> bool:
        return self.token is not None and equal(token, self.token)

    # -- login cookie: "expires.nonce.signature", stateless so any process can check it

    def new_session(self) -> str:
        body = f"{int(time.time()) + SESSION_SECONDS}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._sign('session', body)}"

    def session_ok(self, value: str) -> bool:
        body, _, signature = value.rpartition(".")
        expires = body.partition(".")[0]
        if not body or not expires.isdigit() or not equal(signature, self._sign("session", body)):
            return False
        return int(expires) > time.time()

    def _sign(self, purpose: str, body: str) -> str:
        return hmac.new(self.key, f"{purpose}\0{body}".encode(), hashlib.sha256).hexdigest()

    def challenge_headers(self) -> dict[str, str]:
        """``WWW-Authenticate`` for a 401: basic auth makes browsers prompt."""
        if self.basic is not None:
            return {"WWW-Authenticate": 'Basic realm="Tasker", charset="UTF-8"'}
        return {"WWW-Authenticate": 'Bearer realm="Tasker"'}

    def refusal(self) -> tuple[int, str]:
        """The status and message for a request that ``identify`` refused."""
        if not self.configured:
            return 403, ("Tasker's dashboard answers only loopback clients (browsing localhost) "
                         "until a token or basic auth is configured.")
        return 401, "Authentication required: send Authorization: Bearer <token>, or sign in."


def is_loopback(conn: HTTPConnection) -> bool:
    """A client on this machine, not relayed by a proxy, addressing this machine by a loopback name.

    The Host check defeats DNS rebinding: a hostile site whose name resolves to
    127.0.0.1 still sends its own name as Host.
    """
    client = conn.client
    if client is None or any(h in conn.headers for h in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(client.host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if not (address.is_loopback or (mapped is not None and mapped.is_loopback)):
        return False
    host = (conn.headers.get("host") or "").lower()
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if ":" in host else host
    return name in LOOPBACK_NAMES or name.endswith(".localhost") or _is_loopback_ip(name)


def _is_loopback_ip(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
