"""Web security of the served app: which hosts it answers (S9), which origins may call it (S6, CORS),
and, for ``/v1``, ``/api`` and ``/mcp``, API keys (constant-time), a per-key rate limit (L4) and a
body-size limit checked before any parsing (B2).

``ServeGuard`` is one ASGI middleware around the whole app, so the UI, the APIs and MCP share the
host and origin rules; the API checks apply to the API paths only (the UI keeps Gradio's login).
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.config import Settings
from assistant.errors import ConfigError, RateLimitedError
from assistant.server.errors import HttpError, from_exception
from ui.handlers import RateLimiter
from ui.security import SameOriginGuard, allowed_hosts, host_name, is_loopback, parse_auth

API_PREFIXES = ("/v1", "/api", "/mcp")
OPEN_PATHS = frozenset({"/api/openapi.json"})  # the schema /docs loads: no key (it holds no data)
MISSING_KEY = "Missing or wrong API key: send `Authorization: Bearer <key>` with one of the server's API_KEYS."
RATE_LIMITED = "More than {limit} requests in the last minute for this key (API_RATE_LIMIT); retry in a minute."


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def api_keys(settings: Settings) -> tuple[str, ...]:
    return tuple(split_list(settings.api_keys.get_secret_value()))


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """Every secret value a message or log line must never show."""
    try:
        passwords = tuple(p for _, p in parse_auth(settings.ui_auth.get_secret_value()))
    except ConfigError:
        passwords = ()
    return (settings.llm_api_key.get_secret_value(), *api_keys(settings), *passwords)


def api_owner(headers: Headers, settings: Settings) -> str:
    """Whose chats an API request reaches: "key:" and 16 hex digits of the SHA-256 of its API key (stable
    across restarts and key reordering; the key itself is never stored), or "local" when no keys are
    set (loopback only, S7). ApiChecks has already refused a missing or wrong key."""
    if not api_keys(settings):
        return "local"
    _, _, token = headers.get("authorization", "").partition(" ")
    return "key:" + hashlib.sha256(token.strip().encode("utf-8", "replace")).hexdigest()[:16]


def check_exposure(settings: Settings) -> None:
    """Refuse to serve the APIs on a non-loopback address without API keys (S7)."""
    if not is_loopback(settings.ui_host) and not api_keys(settings):
        raise ConfigError(f"Refusing to serve the API on {settings.ui_host} without keys: set API_KEYS=<key> (clients send "
                          "`Authorization: Bearer <key>`), or UI_HOST=127.0.0.1 for local use only.")


def is_api(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)




async def _send_error(send: Send, error: HttpError) -> None:
    headers = [(b"content-type", b"application/json")] + [(k.encode(), v.encode()) for k, v in error.headers().items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": error.encoded()})


async def _send_text(scope: Scope, send: Send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": text.encode()})


class ApiChecks:
    """Key, rate limit and body size for the API paths, in that order, before the app sees the request."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.keys = [k.encode() for k in api_keys(settings)]
        self.limit = settings.api_rate_limit
        self.limiter = RateLimiter(settings.api_rate_limit)
        self.max_body = settings.api_max_body_bytes

    def identity(self, scope: Scope, headers: Headers) -> str | None:
        """Who is calling: the matching key's index (None: no or wrong key), or the client address when no keys are set."""
        if not self.keys:
            client = scope.get("client")
            return f"client:{client[0] if client else 'unknown'}"  # the TCP peer, or what a trusted proxy says (S12)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given, found = token.strip().encode("utf-8", "replace"), None
        for n, key in enumerate(self.keys):  # compare with every key: the time does not tell which matched
            if hmac.compare_digest(given, key):
                found = n
        return None if found is None else f"key:{found}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await _send_text(scope, send, 403, "Forbidden.")
            return
        headers = Headers(scope=scope)
        if scope["path"] not in OPEN_PATHS:
            who = self.identity(scope, headers)
            if who is None:
                await _send_error(send, HttpError(401, MISSING_KEY, "authentication_error", "invalid_api_key"))
                return
            if not self.limiter.allow(who):
                await _send_error(send, from_exception(RateLimitedError(RATE_LIMITED.format(limit=self.limit))))
                return
        too_large = HttpError(413, f"The request body is larger than {self.max_body:,} bytes (API_MAX_BODY_BYTES).",
                              "invalid_request_error", "request_too_large")
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _send_error(send, too_large)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        # Read the whole body (at most max_body bytes) here, so an oversized chunked body is refused unparsed.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _send_error(send, too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # later calls wait for the disconnect, as streaming responses expect

        await self.app(scope, replay, send)


class ServeGuard:
    """ASGI middleware around the whole served app: host (S9), then origin (S6; CORS-listed origins
    may call the API paths), then the API checks on /v1, /api and /mcp."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.hosts = allowed_hosts(settings.allowed_hosts, settings.ui_host)  # the UI's rule: None means any
        self.origins = frozenset(split_list(settings.api_cors_origins))
        self.api: ASGIApp = ApiChecks(app, settings)
        if self.origins:
            self.api = CORSMiddleware(self.api, allow_origins=sorted(self.origins), allow_credentials=False,
                                      allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                                      allow_headers=["authorization", "content-type", "mcp-session-id", "mcp-protocol-version",
                                                     "last-event-id"],
                                      expose_headers=["mcp-session-id"], max_age=600)

    def cors_allowed(self, origin: str | None) -> bool:
        return bool(origin) and ("*" in self.origins or origin in self.origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.hosts is not None and host_name(headers.get("host", "")) not in self.hosts:
            await _send_text(scope, send, 403, "Forbidden: unknown host name (ALLOWED_HOSTS).")
            return
        api, origin = is_api(scope["path"]), headers.get("origin")
        if origin is not None and not (api and self.cors_allowed(origin)) and not SameOriginGuard.allowed(dict(scope)):
            await _send_text(scope, send, 403, "Forbidden: cross-origin request refused.")
            return
        await (self.api if api else self.app)(scope, receive, send)
