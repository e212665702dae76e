"""Web security of the UI, in front of every route (one ASGI middleware, :class:`WebGuard`):

* S9  — only allowed host names (loopback names by default) are answered: a DNS-rebinding page
  whose name resolves to 127.0.0.1 gets 403 before any handler, ``/config`` included;
* S6  — requests from other origins are refused (the same-origin rule below);
* S15 — Gradio's side routes that this page never uses (``/gradio_api/call/*``, ``/gradio_api/api/*``,
  ``/openapi.json``, ``/gradio_api/info``, uploads, MCP) are closed, and with ``UI_AUTH`` every
  route that acts on a session (``/gradio_api/*``: cancel, heartbeat, queue) needs the page's login;
* S12 — failed logins are throttled per client and per user name.
Client identity for rate limits is the TCP peer; ``X-Forwarded-For`` counts only from a trusted
proxy (``UI_TRUSTED_PROXIES``), which uvicorn applies before this middleware sees the request.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from assistant.errors import ConfigError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")
# Gradio routes the page never calls: closed for everyone (S15).
CLOSED = ("/gradio_api/call/", "/gradio_api/api/", "/gradio_api/info", "/gradio_api/openapi.json", "/openapi.json",
          "/gradio_api/upload", "/gradio_api/mcp", "/gradio_api/vibe", "/vibe", "/gradio_api/process_recording",
          "/gradio_api/run-history", "/monitoring", "/gradio_api/dev/", "/gradio_api/proxy=", "/docs", "/redoc")
# What the login page itself needs before anyone has logged in.
LOGIN_PAGE = ("/login", "/logout", "/assets/", "/static/", "/svelte/", "/favicon.ico", "/theme.css", "/robots.txt",
              "/manifest.json", "/pwa_icon", "/gradio_api/login_check", "/gradio_api/user", "/gradio_api/theme.css",
              "/gradio_api/app_id", "/gradio_api/startup-events")
LOGIN_WINDOW = 60.0  # seconds over which failed logins are counted, and the pause after too many


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(value: str) -> list[tuple[str, str]]:
    """``"user:pass,user2:pass2"`` -> pairs; raises ConfigError on a malformed entry."""
    pairs = []
    for item in filter(None, (p.strip() for p in value.split(","))):
        user, sep, password = item.partition(":")
        if not (sep and user.strip() and password):
            raise ConfigError("UI_AUTH must be user:password pairs separated by commas, e.g. UI_AUTH=alice:s3cret.")
        pairs.append((user.strip(), password))
    return pairs


def allowed_hosts(setting: str, bind_host: str) -> frozenset[str] | None:
    """Host names to answer (lower case, no port); None means any (a public bind with no list)."""
    names = {h.strip().lower() for h in setting.split(",") if h.strip()}
    if names:
        return frozenset(names | ({bind_host.lower()} if bind_host not in ("0.0.0.0", "::") else set()))
    if is_loopback(bind_host):
        return frozenset(LOOPBACK_NAMES) | {bind_host.lower()}
    return None


def host_name(value: str) -> str:
    """The name part of a Host header ("[::1]:7860" -> "[::1]", "Example.org:80" -> "example.org")."""
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Throttle:
    """At most ``limit`` events per key in a sliding window; then the key waits until the window frees."""

    def __init__(self, limit: int, window: float = LOGIN_WINDOW, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 4096):
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, key: str) -> float:
        """Seconds until `key` may try again (0 when it may now)."""
        now = self.clock()
        with self._lock:
            events = self._events.get(key)
            while events and now - events[0] >= self.window:
                events.popleft()
            if events is not None and len(events) >= self.limit:
                return self.window - (now - events[0])
            return 0.0

    def record(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            self._events.setdefault(key, deque()).append(now)
            if len(self._events) > self.max_keys:  # forget idle keys so memory stays bounded
                self._events = {k: v for k, v in self._events.items() if v and now - v[-1] < self.window}

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class WebGuard:
    """ASGI middleware in front of the Gradio app (see the module docstring for what it refuses).

    Requests without an ``Origin`` pass the origin rule: the page's own GETs, navigations, curl
    and gradio_client (browsers always send Origin cross-origin, except for plain ``<img>`` or
    ``<script>`` loads, which cannot read the response).
    """

    def __init__(self, app: Any, hosts: frozenset[str] | None = frozenset(LOOPBACK_NAMES), auth: bool = False,
                 login_attempts: int = 5, closed: tuple[str, ...] = CLOSED):
        self.app, self.hosts, self.auth, self.closed = app, hosts, auth, closed
        self.by_client = Throttle(login_attempts)
        self.by_user = Throttle(login_attempts * 2)

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = str(scope.get("path", ""))
        refusal = self.refusal(scope, headers, path)
        if refusal:
            await _deny(scope, send, *refusal)
            return
        if self.auth and scope["type"] == "http" and scope.get("method") == "POST" and path.rstrip("/") == "/login":
            await self._login(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: dict, headers: dict[str, str], path: str) -> tuple[int, str] | None:
        """(status, reason) when the request is refused, None when it may pass."""
        if self.hosts is not None and host_name(headers.get("host", "")) not in self.hosts:
            return 403, "Forbidden: this server does not answer that host name (set ALLOWED_HOSTS)."
        origin = headers.get("origin")
        if origin is not None:
            own = {headers.get("host", ""), headers.get("x-forwarded-host", "")} - {""}
            if urlsplit(origin).netloc.lower() not in {h.lower() for h in own}:
                return 403, "Forbidden: cross-origin request refused."
        if any(path == c.rstrip("/") or path.startswith(c) for c in self.closed):
            return 403, "Forbidden: this route is closed."
        if self.auth and path.startswith("/gradio_api/") and not any(path.startswith(p) for p in LOGIN_PAGE) \
                and not self._logged_in(scope, headers):
            return 401, "Log in first."
        return None

    @staticmethod
    def _logged_in(scope: dict, headers: dict[str, str]) -> bool:
        """Whether the request carries a session token the Gradio app issued at login."""
        app = scope.get("app")
        tokens = getattr(app, "tokens", None)
        cookie_id = getattr(app, "cookie_id", None)
        if tokens is None or cookie_id is None:
            return False
        cookies = {}
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            cookies[name] = value
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return bool(token) and token in tokens

    async def _login(self, scope: dict, receive: Receive, send: Send) -> None:
        """Pass a login on unless this client or user name failed too often; count the failures."""
        body, more = b"", True
        while more and len(body) <= 16_384:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        client = str((scope.get("client") or ("unknown",))[0])
        user = (parse_qs(body.decode("utf-8", errors="replace")).get("username") or [""])[0].strip().lower()[:200]
        wait = max(self.by_client.blocked(client), self.by_user.blocked(f"user:{user}"))
        if wait > 0:
            await _deny(scope, send, 429, f"Too many failed logins; try again in {wait:.0f} s.",
                        [(b"retry-after", str(int(wait) + 1).encode())])
            return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        status: list[int] = []

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, replay, watch)
        if status and status[0] == 200:
            self.by_client.clear(client)
            self.by_user.clear(f"user:{user}")
        else:
            self.by_client.record(client)
            self.by_user.record(f"user:{user}")


class SameOriginGuard(WebGuard):
    """Only the same-origin rule (S6) and the closed upload route: for an app that checks host
    names and logins itself (e.g. the API server, which serves its own /docs)."""

    def __init__(self, app: Any):
        super().__init__(app, hosts=None, auth=False, closed=("/gradio_api/upload", "/upload"))

    @staticmethod
    def allowed(scope: dict) -> bool:
        """Whether a request passes the same-origin rule (kept for callers of the earlier API)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        return SameOriginGuard(None).refusal(scope, headers, str(scope.get("path", ""))) is None


async def _deny(scope: dict, send: Send, status: int, reason: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"detail": reason}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


def trust_proxies(addresses: str) -> None:
    """Make uvicorn honour X-Forwarded-For only from these proxy addresses (none when empty).

    uvicorn trusts 127.0.0.1 by default, so on a loopback bind any local page or script could claim
    to be a new client per request and void the per-client limits (S12)."""
    os.environ["FORWARDED_ALLOW_IPS"] = ",".join(a.strip() for a in addresses.split(",") if a.strip()) or "0.0.0.0/32"


def client_id(request: Any) -> str:
    """The client a request comes from, for per-client limits: the TCP peer (after trusted proxies)."""
    return str(getattr(getattr(request, "client", None), "host", None) or "unknown")
