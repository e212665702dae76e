"""Stored chats over REST, under ``/api``: list, create, open, rename, delete and export the caller's
conversations, continue one (``POST /api/conversations/{id}/messages``: its history is read for
follow-ups and the exchange is stored), and give feedback on an answer.

The owner is the API key (``key:`` + 16 hex digits of its SHA-256) or ``local`` without keys; another
owner's chat answers 404 exactly like a missing one (S16). Errors: not found 404, a failing database
503, bad input 400, in the API's OpenAI-style body.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from assistant.conversations.export import to_json, to_markdown
from assistant.conversations.records import REASONS, Conversation
from assistant.server.routing import SafeJSONResponse, api_route_class
from assistant.server.security import api_owner
from assistant.server.service import ApiService

MAX_ID = 64  # a chat or answer id is a UUID (36 characters); longer is never found


class NewChat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: StrictStr = Field("", description="Optional; without one, the first question becomes the title.")


class Rename(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: StrictStr = Field(description="The new title (one line, at most 120 characters are kept).")


class Ask(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: StrictStr = Field(description="The next question of the chat; earlier turns are read from the chat.")


class Vote(BaseModel):
    model_config = ConfigDict(extra="ignore")
    vote: Literal["up", "down"]
    reason: StrictStr | None = Field(None, description=f"One of: {', '.join(REASONS)} (or its label).")
    text: StrictStr = Field("", description="Free text (cut to FEEDBACK_MAX_CHARS).")


def summary(chat: Conversation) -> dict:
    data = chat.to_dict()
    data.pop("messages")
    return data


def router(service: ApiService) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["Conversations"], route_class=api_route_class(service.secrets),
                    default_response_class=SafeJSONResponse)
    settings = service.settings
    chat_id_path = Path(max_length=MAX_ID, description="The chat's id (from GET /api/conversations).")

    def owner(request: Request) -> str:
        return api_owner(request.headers, settings)

    @api.get("/conversations", summary="Your chats, most recently active first (without their messages)")
    async def list_chats(request: Request, limit: int = Query(50, ge=1, le=1000)) -> Response:
        chats = await run_in_threadpool(lambda: service.chats().list(owner(request), limit))
        return SafeJSONResponse({"conversations": [summary(c) for c in chats]})

    @api.post("/conversations", summary="Start a chat", status_code=201)
    async def create_chat(request: Request, body: NewChat | None = None) -> Response:
        title = body.title if body else ""
        chat = await run_in_threadpool(lambda: service.chats().create(owner(request), title))
        return SafeJSONResponse(summary(chat), status_code=201)

    @api.get("/conversations/{chat_id}", summary="One chat with every message (answers with citations and quotes)")
    async def get_chat(request: Request, chat_id: str = chat_id_path) -> Response:
        chat = await run_in_threadpool(lambda: service.chats().get(owner(request), chat_id))
        return SafeJSONResponse(chat.to_dict())

    @api.patch("/conversations/{chat_id}", summary="Rename a chat")
    async def rename_chat(request: Request, body: Rename, chat_id: str = chat_id_path) -> Response:
        chat = await run_in_threadpool(lambda: service.chats().rename(owner(request), chat_id, body.title))
        return SafeJSONResponse(summary(chat))

    @api.delete("/conversations/{chat_id}", summary="Delete a chat with its messages and feedback", status_code=204)
    async def delete_chat(request: Request, chat_id: str = chat_id_path) -> Response:
        await run_in_threadpool(lambda: service.chats().delete(owner(request), chat_id))
        return Response(status_code=204)

    @api.post("/conversations/{chat_id}/messages",
              summary="Continue a chat: answer the question with the chat's history, and store the exchange")
    async def continue_chat(request: Request, body: Ask, chat_id: str = chat_id_path) -> Response:
        answer, stored = await run_in_threadpool(service.continue_chat, owner(request), chat_id, body.question)
        return SafeJSONResponse({**answer.to_dict(), "conversation": stored})

    @api.get("/conversations/{chat_id}/export", summary="A chat as Markdown (sources with quotes) or JSON")
    async def export_chat(request: Request, chat_id: str = chat_id_path,
                          format: Literal["markdown", "json"] = Query("markdown")) -> Response:  # noqa: A002
        chat = await run_in_threadpool(lambda: service.chats().get(owner(request), chat_id))
        name = f"chat-{chat.id[:8]}.{'md' if format == 'markdown' else 'json'}"
        headers = {"content-disposition": f'attachment; filename="{name}"'}
        if format == "json":
            return Response(to_json(chat).encode("utf-8", "replace"), media_type="application/json", headers=headers)
        return Response(to_markdown(chat).encode("utf-8", "replace"), media_type="text/markdown; charset=utf-8",
                        headers=headers)

    @api.post("/answers/{answer_id}/feedback", summary="👍/👎 on a stored answer, with a reason and free text")
    async def feedback(request: Request, body: Vote,
                       answer_id: str = Path(max_length=MAX_ID, description="The answer's message id.")) -> Response:
        given = await run_in_threadpool(
            lambda: service.chats().add_feedback(owner(request), answer_id, body.vote, body.reason, body.text))
        return SafeJSONResponse(given.to_dict())

    return api
