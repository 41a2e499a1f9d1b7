"""Who is calling: a bearer token, HTTP basic auth, a signed login cookie, or a loopback client."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ..limits import FAILED_LOGIN_WINDOW, MAX_FAILED_LOGINS, MIN_SECRET_LENGTH

SESSION_COOKIE = "tasker_session"
SESSION_SECONDS = 12 * 3600
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
# Set by reverse proxies: a request that went through one did not come from this machine's user.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
                      "x-real-ip", "via", "true-client-ip", "cf-connecting-ip", "x-client-ip", "x-cluster-client-ip")
# What an unset variable becomes after a careless str() or template: never a secret.
PLACEHOLDERS = {"", "undefined", "null", "none", "nil", "false", "true", "0"}


def check_secret(value: str, what: str) -> str:
    """A token or secret worth the name: not a placeholder for an unset value, not guessable by length."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string (or None)")
    if value.strip().lower() in PLACEHOLDERS:
        raise ValueError(f"{what} is {value!r}, which looks like an unset value, not a secret")
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"{what} must be at least {MIN_SECRET_LENGTH} characters long (got {len(value)}): "
                         "use e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))'")
    return value


class Throttle:
    """Failed authentications per client address: past ``MAX_FAILED_LOGINS`` in
    ``FAILED_LOGIN_WINDOW`` seconds, that address is refused (429) until the window passes."""

    def __init__(self, limit: int = MAX_FAILED_LOGINS, window: float = FAILED_LOGIN_WINDOW, remember: int = 10_000):
        self.limit, self.window, self.remember = limit, window, remember
        self.failures: OrderedDict[str, list[float]] = OrderedDict()

    def wait(self, conn: HTTPConnection) -> float:
        """Seconds until this client may try again (0: now)."""
        recent = self._recent(_address(conn))
        return max(0.0, recent[0] + self.window - time.monotonic()) if len(recent) >= self.limit else 0.0

    def failed(self, conn: HTTPConnection) -> None:
        address = _address(conn)
        self.failures[address] = self._recent(address) + [time.monotonic()]
        self.failures.move_to_end(address)
        while len(self.failures) > self.remember:   # bounded memory, whoever knocks
            self.failures.popitem(last=False)

    def _recent(self, address: str) -> list[float]:
        since = time.monotonic() - self.window
        return [t for t in self.failures.get(address, []) if t > since][-self.limit:]


def too_many(wait: float, html: bool = False) -> Response:
    """429 for a client past its failed tries; ``Retry-After`` says when it may try again."""
    headers = {"Retry-After": str(max(1, int(wait + 0.999)))}
    message = f"too many failed authentication attempts from this address; try again in {headers['Retry-After']} s"
    return PlainTextResponse(message, 429, headers=headers) if html else JSONResponse({"detail": message}, 429, headers=headers)


def _address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "?"


@dataclass(frozen=True)
class Caller:
    """How a request proved who it is."""

    how: str  # "bearer", "basic", "session", "loopback" or "host"

    @property
    def ambient(self) -> bool:
        """True when a browser attaches the credential by itself, so a forged
        cross-site request would carry it too: such callers need a CSRF token."""
        return self.how != "bearer"


def equal(given: str, expected: str) -> bool:
    """Constant-time comparison of two strings (any characters)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


# The ASGI scope key an application hosting the dashboard in-process sets once it has
# authenticated the caller itself (Django's staff login: tasker.contrib.django.dashboard).
# Only code in the process writes the scope; no request can set it.
HOST_CALLER = "tasker.host_caller"


class Auth:
    """The dashboard's and API's access policy (the cron endpoints have their own)."""

    def __init__(self, token: str | None, basic_auth: tuple[str, str] | None, allow_unauthenticated_loopback: bool):
        if token is not None:
            check_secret(token, "token")
        if basic_auth is not None:
            if len(basic_auth) != 2 or not all(isinstance(p, str) and p for p in basic_auth) or ":" in basic_auth[0]:
                raise ValueError("basic_auth must be a (username, password) pair of non-empty strings, no ':' in the username")
            if basic_auth[1].strip().lower() in PLACEHOLDERS:
                raise ValueError(f"the basic_auth password is {basic_auth[1]!r}, which looks like an unset value")
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
        if conn.scope.get(HOST_CALLER):
            return Caller("host")
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

    @staticmethod
    def presented(conn: HTTPConnection) -> bool:
        """Whether the request carried credentials of its own (a refusal then counts as a failed try)."""
        return bool(conn.headers.get("authorization") or conn.cookies.get(SESSION_COOKIE))

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
