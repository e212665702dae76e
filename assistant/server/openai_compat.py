"""The OpenAI-compatible API: ``GET /v1/models`` and ``POST /v1/chat/completions``.

The last user message is the question and the earlier user/assistant messages are the history
(system messages are ignored: the assistant's own instructions apply). ``content`` is the verified
answer with ``[n]`` markers; the message also carries ``citations`` (each quote verified verbatim in
its passage), ``refused`` and ``notice``, and OpenAI ``annotations`` (a ``url_citation`` per marker).

Streaming never sends unverified text as ``content``: the role chunk comes with the first event,
the model's draft streams in the non-standard ``delta.draft`` field, then the verified answer is
one ``content`` delta, and the final chunk carries the citations, annotations and
``finish_reason``; ``data: [DONE]`` ends the stream.

With a ``conversation_id`` (a body field, or ``metadata.conversation_id``) naming one of the caller's
stored chats, the exchange is stored there and the message (or the final chunk's delta) carries
``conversation``: the chat id, the answer's ``message_id`` and whether it was ``stored``. When the
messages hold no earlier turns, the chat's own history is used for follow-ups.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from assistant.citations import MARKER
from assistant.errors import InputError
from assistant.server.errors import NotFoundError, from_exception
from assistant.server.routing import SafeJSONResponse, api_route_class, base_url
from assistant.server.security import api_owner
from assistant.server.service import HISTORY_MESSAGES, ApiService, citation_dict, entry_url
from assistant.types import Answer, Citation

_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~"})


class ContentPart(BaseModel):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ... are accepted and ignored
    role: str
    content: str | list[ContentPart] | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI's request body; parameters other than ``messages`` and ``stream`` are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str | None = Field(None, description="Ignored: there is one model (see GET /v1/models).")
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation; the last user message is the question.")
    stream: bool | None = Field(False, description="Server-sent events: draft deltas, then the verified answer and citations.")
    conversation_id: str | None = Field(None, max_length=64, description="Optional: store the exchange in this chat of yours "
                                        "(POST /api/conversations makes one); also read from metadata.conversation_id.")
    metadata: dict[str, Any] | None = Field(None, description="OpenAI's metadata; only conversation_id is read.")

    def chat_id(self) -> str | None:
        """The stored chat this exchange goes to, if any."""
        found = self.conversation_id or (self.metadata or {}).get("conversation_id")
        if found is not None and not isinstance(found, str):
            raise InputError("conversation_id must be a string: the id of a chat from POST /api/conversations.")
        return found or None


def message_text(message: ChatMessage) -> str:
    if isinstance(message.content, list):
        return "\n".join(p.text for p in message.content if p.type in ("text", "input_text") and p.text)
    return message.content or ""


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[tuple[str, str]]]:
    """(question, history): the last user message and the user/assistant turns before it."""
    turns = [(m.role, message_text(m)) for m in messages if m.role in ("user", "assistant")]
    last = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=None)
    if last is None:
        raise InputError("The messages hold no user message; send the question as {\"role\": \"user\", \"content\": ...}.")
    return turns[last][1], turns[:last][-HISTORY_MESSAGES:]


def url_annotations(content: str, citations: list[Citation], base: str) -> list[dict[str, Any]]:
    """OpenAI ``url_citation`` annotations: one per ``[n]`` marker in the content, pointing at the cited
    entry's API URL, titled with the entry's title and the verified quote."""
    by_number = {c.number: c for c in citations}
    found = []
    for match in MARKER.finditer(content):
        citation = by_number.get(int(match.group(1)))
        if citation is None:
            continue
        start, end = match.start(1) - 1, match.end(1) + 1
        found.append({"type": "url_citation", "url_citation": {
            "start_index": start, "end_index": end, "url": entry_url(base, citation.entry_id),
            "title": f"{citation.title}: “{citation.quote}”"}})
    return found


def sources_block(citations: list[Citation]) -> str:
    """A markdown "Sources" list of the verified quotes, escaped so no quote renders as a link,
    image or HTML (S1, S2)."""
    if not citations:
        return ""
    lines = [f"{c.number}\\. **{_md(c.title)}**: “{_md(c.quote)}” ({_md(c.source)})" for c in citations]
    return "\n\n**Sources**\n\n" + "\n".join(f"- {line}" for line in lines)


def _md(text: str) -> str:
    return " ".join(text.split()).translate(_MARKDOWN_SPECIAL)


class Completions:
    """Builds the response bodies of one chat completion."""

    def __init__(self, model: str, base: str, with_sources: bool):
        self.model, self.base, self.with_sources = model, base, with_sources
        self.id, self.created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def content(self, answer: Answer) -> str:
        return answer.text + (sources_block(answer.citations) if self.with_sources else "")

    def extras(self, answer: Answer) -> dict[str, Any]:
        """What rides beside the content: citations, annotations, refusal flag and notice."""
        return {"annotations": url_annotations(answer.text, answer.citations, self.base),
                "citations": [citation_dict(c, self.base) for c in answer.citations],
                "refused": answer.refused, "notice": answer.notice, "incomplete": answer.incomplete, "mode": answer.mode}

    def completion(self, answer: Answer, conversation: dict[str, Any] | None = None) -> dict[str, Any]:
        message = {"role": "assistant", "content": self.content(answer), "refusal": None, **self.extras(answer)}
        if conversation is not None:
            message["conversation"] = conversation
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}]}

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}
        return sse(body)

    def chunks(self, answer: Answer, conversation: dict[str, Any] | None = None) -> Iterator[bytes]:
        """The verified answer, then the final chunk with everything beside it."""
        yield self.chunk({"content": self.content(answer)})
        extras = self.extras(answer) | ({"conversation": conversation} if conversation is not None else {})
        yield self.chunk(extras, finish_reason="stop")


def sse(body: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode("utf-8", "replace")


DONE = b"data: [DONE]\n\n"


def router(service: ApiService) -> APIRouter:
    settings = service.settings
    api = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], route_class=api_route_class(service.secrets),
                    default_response_class=SafeJSONResponse)
    started = int(time.time())

    def model_card() -> dict[str, Any]:
        return {"id": settings.api_model_id, "object": "model", "created": started, "owned_by": "genai-assistant"}

    @api.get("/models", summary="The one model: the assistant")
    async def list_models() -> Response:
        return SafeJSONResponse({"object": "list", "data": [model_card()]})

    @api.get("/models/{model_id}", summary="The model, by id")
    async def get_model(model_id: str) -> Response:
        if model_id != settings.api_model_id:
            raise NotFoundError(f"No model {model_id!r}; this server has one: {settings.api_model_id!r}.")
        return SafeJSONResponse(model_card())

    @api.post("/chat/completions", summary="Answer the last user message with verified citations")
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
        question, history = split_messages(body.messages)
        chat_id, owner = body.chat_id(), api_owner(request.headers, settings)
        save: Callable[[Answer], dict[str, Any]] | None = None
        if chat_id:  # the chat is read first: an unknown chat is 404 and a failing database 503, before any answer
            kept = await run_in_threadpool(service.chat_history, owner, chat_id)
            history = history or kept

            def store(answer: Answer) -> dict[str, Any]:
                return service.save_exchange(owner, chat_id, question, answer)

            save = store

        build = Completions(settings.api_model_id, base_url(request), settings.api_sources_block)
        if not body.stream:
            answer = await run_in_threadpool(service.ask, question, history)
            stored = await run_in_threadpool(save, answer) if save else None
            return SafeJSONResponse(build.completion(answer, stored))
        events = service.stream(question, history)
        try:  # the first event before the headers: bad input, a missing index or a full server still get their status
            first = await run_in_threadpool(next, events, None)
        except BaseException:
            events.close()
            raise
        return StreamingResponse(_stream(build, first, events, service.secrets, save), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    return api


async def _stream(build: Completions, first: str | Answer | None, events: Generator[str | Answer, None, None],
                  secrets: tuple[str, ...], save: Callable[[Answer], dict[str, Any]] | None = None) -> AsyncIterator[bytes]:
    """SSE chunks: role, draft deltas (``delta.draft``), the verified content, the final chunk, [DONE].
    ``save`` stores the verified answer (never the draft) before it is sent."""
    try:
        yield build.chunk({"role": "assistant", "content": ""})
        event = first
        while event is not None:
            if isinstance(event, Answer):
                stored = await run_in_threadpool(save, event) if save else None
                for chunk in build.chunks(event, stored):
                    yield chunk
                break
            if event:
                yield build.chunk({"draft": event})
            event = await run_in_threadpool(next, events, None)
        else:
            raise RuntimeError("the answer stream ended without an Answer")
    except Exception as exc:  # headers are sent: the error travels as an OpenAI error event (the SDK raises it)
        yield sse(from_exception(exc, secrets).body())
    finally:
        with suppress(ValueError):  # "generator already executing": it is closed when its thread returns
            events.close()
    yield DONE
