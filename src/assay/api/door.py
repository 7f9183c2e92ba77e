"""The server's door: which requests reach the app, for a local single-user server.

Guarded the way Jupyter Server guards one (see docs/architecture.md, "The server's door"):

- **Host.** Only loopback names (``localhost``, ``127.0.0.1`` and the rest of 127/8,
  ``[::1]``) with any port, plus ``ASSAY_ALLOWED_HOSTS`` (``*``: any). A web page that
  reaches the server by DNS rebinding sends its own site's name as Host, so it is refused.
- **State-changing methods** (POST, PUT, PATCH, DELETE). A browser's ``Origin`` must be the
  server's own (scheme, host and port of the request's Host); a request without one (curl, a
  script) must carry ``X-Assay-Client`` (any value) or a valid bearer token. Cross-site form
  posts need no CORS preflight, so without this any page could import files or delete projects.
- **Token.** With ``ASSAY_TOKEN`` set, every ``/api`` request needs ``Authorization: Bearer
  <token>`` or the session cookie that ``/login?code=...`` (a one-time link ``assay serve``
  prints) sets. The UI's page and assets load without it; they hold no data.

Every refusal answers the API's one error shape: 403 ``forbidden`` for Host and Origin, 401
``unauthorized`` for a missing or wrong token. A pure ASGI middleware, so streamed responses
(SSE job progress) and static files pass the same door.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from assay.config import Settings
from assay.errors import AssayError, Forbidden, Unauthorized

CLIENT_HEADER = "X-Assay-Client"
"""The header a client without an ``Origin`` (not a browser) sends on state-changing requests;
a cross-site page cannot add it without a CORS preflight, which this server never grants."""
SESSION_COOKIE = "assay_session"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(
    r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_.-]+))(?::(?P<port>[0-9]{1,5}))?", re.I
)


def is_loopback(host: str) -> bool:
    """Whether a host name or address (no port; IPv6 with or without brackets) is loopback."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``host[:port]`` of a Host header as (lower-case name, port); None when malformed."""
    match = _HOST.fullmatch(value)
    if match is None:
        return None
    port = match["port"]
    return (match["ipv6"] or match["name"]).lower(), int(port) if port else None


def _origin(scheme: str, host: str) -> tuple[str, str, int | None] | None:
    split = _split_host(host)
    if split is None:
        return None
    name, port = split
    return scheme.lower(), name, port or _DEFAULT_PORTS.get(scheme.lower())


def _same(secret: str, given: str) -> bool:
    return hmac.compare_digest(secret.encode(), given.encode())


class Door:
    """What the door knows: the Host names it answers, the token, the one-time login codes
    and the sessions they opened (in memory: a restart signs every browser out)."""

    def __init__(self, settings: Settings) -> None:
        self.allowed_hosts = {name.strip("[]").lower() for name in settings.allowed_hosts}
        self.token = settings.token.get_secret_value() if settings.token else None
        self._codes: set[str] = set()
        self._sessions: set[str] = set()

    def login_link(self, base_url: str) -> str:
        """A new link that signs one browser in (once): ``<base_url>/login?code=...``."""
        code = secrets.token_urlsafe(24)
        self._codes.add(code)
        return f"{base_url}/login?code={code}"

    def answer(self, request: HTTPConnection, method: str) -> Response | None:
        """The door's own answer to a request (a refusal, or the login's redirect), or None
        when the request may go in."""
        try:
            self._check_host(request)
            path = request.scope["path"]
            if self.token and path == "/login":
                return self._login(request)
            if self.token and (path == "/api" or path.startswith("/api/")):
                self._check_token(request)
            if method in STATE_CHANGING:
                self._check_origin(request, method)
        except AssayError as exc:
            return JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code)
        return None

    def _check_host(self, request: HTTPConnection) -> None:
        host = request.headers.get("host", "")
        split = _split_host(host)
        if "*" in self.allowed_hosts or (
            split is not None and (is_loopback(split[0]) or split[0] in self.allowed_hosts)
        ):
            return
        extra = "".join(f", {name}" for name in sorted(self.allowed_hosts))
        raise Forbidden(
            f"this server does not answer to the Host name {host!r}: it answers localhost, "
            f"127.0.0.1 and [::1]{extra}; open it by one of those, or add the name to "
            "ASSAY_ALLOWED_HOSTS",
            host=host,
        )

    def _check_origin(self, request: HTTPConnection, method: str) -> None:
        origin = request.headers.get("origin")
        if origin is None:
            if request.headers.get(CLIENT_HEADER) or self._bearer(request):
                return
            raise Forbidden(
                f"a {method} without an Origin header must carry the header {CLIENT_HEADER} "
                "(any value) or Authorization: Bearer <token>; add "
                f"'-H \"{CLIENT_HEADER}: curl\"' to curl, for example",
                header=CLIENT_HEADER,
            )
        own = f"{request.scope['scheme']}://{request.headers.get('host', '')}"
        scheme, _, host = origin.partition("://")
        mine = _origin(request.scope["scheme"], request.headers.get("host", ""))
        if mine is None or _origin(scheme, host) != mine:
            raise Forbidden(
                f"refusing a {method} from the web page of {origin}: only pages this server "
                f"serves ({own}) may change data",
                origin=origin,
            )

    def _bearer(self, request: HTTPConnection) -> bool:
        """Whether the request carries ``Authorization: Bearer <the token>``; a wrong one is
        refused here."""
        given = request.headers.get("authorization")
        if given is None or self.token is None:
            return False
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and _same(self.token, value.strip()):
            return True
        raise Unauthorized(
            "the token in the Authorization header is wrong: send Authorization: Bearer "
            "<token> with the token this server was started with (ASSAY_TOKEN or "
            "assay serve --token)"
        )

    def _check_token(self, request: HTTPConnection) -> None:
        if self._bearer(request):
            return
        session = request.cookies.get(SESSION_COOKIE)
        if session and session in self._sessions:
            return
        raise Unauthorized(
            "this server needs its access token: send Authorization: Bearer <token> (the "
            "token of ASSAY_TOKEN or assay serve --token), or open the one-time login link "
            "that assay serve printed to sign this browser in"
        )

    def _login(self, request: HTTPConnection) -> Response:
        code = request.query_params.get("code", "")
        if code not in self._codes:
            raise Unauthorized(
                "this login link was used already or is not one this server printed: each "
                "link signs in one browser, once; restart assay serve for a new one, or send "
                "Authorization: Bearer <token>"
            )
        self._codes.discard(code)
        session = secrets.token_urlsafe(32)
        self._sessions.add(session)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session,
            httponly=True,
            samesite="strict",
            secure=request.scope["scheme"] == "https",
        )
        return response


class DoorMiddleware:
    """The ASGI middleware in front of the whole app (API, SSE, static files, the UI's page)."""

    def __init__(self, app: ASGIApp, door: Door) -> None:
        self.app = app
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Only HTTP reaches routes: the app has no WebSocket routes, lifespan carries no request.
        if scope["type"] == "http":
            answer = self.door.answer(HTTPConnection(scope), scope["method"])
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
