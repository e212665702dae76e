"""The REST API under ``/api``: the Python API's calls over HTTP, with the same JSON shapes
(``Answer.to_dict()``, ``Passage.to_dict()``, ``Health.to_dict()``)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from assistant.server.routing import SafeJSONResponse, api_route_class
from assistant.server.service import HISTORY_MESSAGES, MAX_ENTRY_ID, ApiService


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: StrictStr


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: StrictStr = Field(description="The question, e.g. 'What is a variational autoencoder?'")
    history: list[Turn] = Field(default_factory=list,
                                description=f"Earlier turns, oldest first (the last {HISTORY_MESSAGES} are used).")


class RetrieveRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    question: StrictStr = Field(description="What to search for.")
    k: int | None = Field(None, ge=1, le=50, description="Passages to return (default TOP_K).")


def router(service: ApiService) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["REST"], route_class=api_route_class(service.secrets),
                    default_response_class=SafeJSONResponse)

    @api.post("/ask", summary="Answer a question with verified citations (the Python API's Answer)")
    async def ask(body: AskRequest) -> Response:
        history = [(t.role, t.content) for t in body.history]
        answer = await run_in_threadpool(service.ask, body.question, history)
        return SafeJSONResponse(answer.to_dict())

    @api.post("/retrieve", summary="The passages retrieved for a question, before the answerability gate")
    async def retrieve(body: RetrieveRequest) -> Response:
        passages = await run_in_threadpool(service.retrieve, body.question, body.k)
        return SafeJSONResponse({"passages": [p.to_dict() for p in passages]})

    @api.get("/entries/{entry_id}", summary="One entry with its source text and passages")
    async def entry(entry_id: str = Path(max_length=MAX_ENTRY_ID)) -> Response:
        return SafeJSONResponse(await run_in_threadpool(service.entry, entry_id))

    @api.get("/health", summary="LLM state (and why it is down) and index size")
    async def health() -> Response:
        return SafeJSONResponse((await run_in_threadpool(service.health)).to_dict())

    return api
