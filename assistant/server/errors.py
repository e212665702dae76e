"""Errors at the HTTP edge: each AssistantError becomes a status and an OpenAI-style body
``{"error": {"message", "type", "code"}}``; anything else becomes a generic 500, logged without secrets."""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass

from assistant.conversations.errors import ConversationNotFoundError, ConversationStoreError
from assistant.errors import (
    AssistantError,
    ConfigError,
    IndexMismatchError,
    IndexMissingError,
    InputError,
    LLMError,
    RateLimitedError,
    StoreError,
)
from assistant.redact import redact

log = logging.getLogger(__name__)

GENERIC_ERROR = "The server failed to answer this request; please try again (the details are in the server log)."


class BusyError(RateLimitedError):
    """Every answer slot is taken (API_MAX_CONCURRENT)."""


class NotFoundError(AssistantError):
    """The requested entry does not exist."""


@dataclass(frozen=True)
class HttpError:
    """One error as the API reports it."""

    status: int
    message: str
    type: str
    code: str | None = None
    retry_after: int | None = None

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "code": self.code}}

    def encoded(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False).encode("utf-8", "replace")

    def headers(self) -> dict[str, str]:
        extra = {"www-authenticate": "Bearer"} if self.status == 401 else {}
        if self.retry_after is not None:
            extra["retry-after"] = str(self.retry_after)
        return extra


# (status, OpenAI error type, code) by error class; the first match wins, so subclasses come first.
_STATUS: list[tuple[type[AssistantError], int, str, str]] = [
    (BusyError, 429, "rate_limit_error", "server_busy"),
    (RateLimitedError, 429, "rate_limit_error", "rate_limit_exceeded"),
    (InputError, 400, "invalid_request_error", "invalid_input"),
    (NotFoundError, 404, "invalid_request_error", "not_found"),
    (ConversationNotFoundError, 404, "invalid_request_error", "conversation_not_found"),
    (ConversationStoreError, 503, "server_error", "conversation_store_unavailable"),
    (IndexMissingError, 503, "server_error", "index_missing"),
    (IndexMismatchError, 503, "server_error", "index_mismatch"),
    (StoreError, 503, "server_error", "store_unavailable"),
    (LLMError, 503, "server_error", "llm_unavailable"),  # only when no extractive answer could be made either
    (ConfigError, 503, "server_error", "misconfigured"),
]


def from_exception(exc: BaseException, secrets: tuple[str, ...] = ()) -> HttpError:
    """The HTTP error for an exception; messages of AssistantErrors are shown (redacted), others never."""
    if isinstance(exc, AssistantError):
        for cls, status, kind, code in _STATUS:
            if isinstance(exc, cls):
                retry = 1 if cls is BusyError else 60 if cls is RateLimitedError else None
                return HttpError(status, safe(str(exc), secrets), kind, code, retry)
        return HttpError(500, safe(str(exc), secrets), "server_error", "assistant_error")
    log_unexpected(exc, secrets)
    return HttpError(500, GENERIC_ERROR, "server_error", "internal_error")


def safe(message: str, secrets: tuple[str, ...] = ()) -> str:
    """A message with URL credentials and known secret values masked, and no unencodable text."""
    return redact(message, secrets).encode("utf-8", "replace").decode("utf-8")


def log_unexpected(exc: BaseException, secrets: tuple[str, ...] = ()) -> None:
    """Log an unexpected exception with its traceback, secrets masked (never sent to the client)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log.error("unexpected error while serving a request:\n%s", safe(text, secrets))
