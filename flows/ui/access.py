"""Who may reach the UI: loopback by default; any other address only with a token.

With ``OPENBOOKS_UI_TOKEN`` set (from the environment, never the config),
every request must carry it: as ``Authorization: Bearer <token>``, or as the
cookie the browser is given when it opens a link with ``?token=<token>``
once (it is then sent back to the same address without the token).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from urllib.parse import parse_qs, urlencode

from openbooks.errors import OpenbooksError

TOKEN_ENV = "OPENBOOKS_UI_TOKEN"
COOKIE = "openbooks_ui_token"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def ui_token() -> str | None:
    return os.environ.get(TOKEN_ENV) or None


def check_bind(host: str) -> None:
    """Refuses a non-loopback address unless a token is set."""
    if not is_loopback(host) and ui_token() is None:
        raise OpenbooksError(
            f"--host {host}: not a loopback address; set {TOKEN_ENV} in the environment to serve it "
            "(every request must then carry the token), or keep the default 127.0.0.1"
        )


def carried(scope: dict) -> str | None:
    """The token a request carries: bearer header, cookie or ``token`` query parameter."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [None])[0]


class TokenGate:
    """ASGI middleware: without the token, 401; a ``?token=`` link sets the cookie and drops it from the URL."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = carried(scope)
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            return await _answer(send, 401, b"openbooks ui: this server needs its token "
                                 b"(Authorization: Bearer, or open a link with ?token=)\n", [])
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            query.pop("token")
            rest = urlencode(query, doseq=True)
            location = scope["path"] + ("?" + rest if rest else "")
            cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict"
            return await _answer(send, 303, b"", [(b"location", location.encode()), (b"set-cookie", cookie.encode())])
        return await self.app(scope, receive, send)


async def _answer(send, status: int, body: bytes, headers: list) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *headers]})
    await send({"type": "http.response.body", "body": body})
