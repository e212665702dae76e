"""What the API routers share: a route class that turns every exception into an OpenAI-style error
(bad bodies are 400, never FastAPI's 422), a JSON response that cannot fail on odd text, and the
request's base URL for links."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from assistant.server.errors import HttpError, from_exception


class SafeJSONResponse(JSONResponse):
    """JSON whose text may hold lone surrogates (replaced, never a 500 at encoding time)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def error_response(error: HttpError) -> Response:
    return SafeJSONResponse(error.body(), status_code=error.status, headers=error.headers())


def validation_error(exc: RequestValidationError) -> HttpError:
    """400 naming what is wrong (field and problem), never echoing the value sent."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return HttpError(400, "The request body is not valid JSON.", "invalid_request_error", "invalid_json")
    problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg', 'invalid')}"
                         for e in errors[:5])
    return HttpError(400, f"Invalid request: {problems}.", "invalid_request_error", "invalid_request")


def http_error(exc: HTTPException) -> HttpError:
    kinds = {401: "authentication_error", 404: "invalid_request_error", 405: "invalid_request_error"}
    messages = {404: "Unknown API path; see /docs.", 405: "Method not allowed on this path; see /docs."}
    message = messages.get(exc.status_code, str(exc.detail))
    return HttpError(exc.status_code, message, kinds.get(exc.status_code, "server_error"), None)


def api_route_class(secrets: tuple[str, ...]) -> type[APIRoute]:
    """A route class whose handler answers every failure itself, in the API's error format (and never
    lets an exception reach the server's log unredacted)."""

    class ApiRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    return await handler(request)
                except RequestValidationError as exc:
                    return error_response(validation_error(exc))
                except HTTPException as exc:
                    return error_response(http_error(exc))
                except Exception as exc:
                    return error_response(from_exception(exc, secrets))

            return guarded

    return ApiRoute


def base_url(request: Request) -> str:
    """The URL the client reached this server at (for links to /api/entries)."""
    return str(request.base_url).rstrip("/")
