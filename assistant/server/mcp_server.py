"""MCP tools with the official ``mcp`` SDK: ``ask`` (an answer with verified quotes), ``search``,
``get_entry`` and ``list_models``. Each returns structured content (its output schema is the
pydantic model below) and the same as readable text. Served over streamable HTTP at ``/mcp`` by
the app, and over stdio by ``python -m assistant mcp`` (:func:`run_stdio`)."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from assistant.errors import AssistantError
from assistant.server.errors import GENERIC_ERROR, log_unexpected, safe
from assistant.server.service import HISTORY_MESSAGES, ApiService, citation_dict
from assistant.types import Passage

if TYPE_CHECKING:
    from assistant.config import Settings

log = logging.getLogger(__name__)
NAME = "genai-assistant"
INSTRUCTIONS = ("Answers questions about the article 'Generative AI – All you need to know' (models, concepts, "
                "glossary, and a table of AI models with their creators and outputs). `ask` returns an answer whose "
                "every [n] marker is backed by a quote verified verbatim in the cited entry; it refuses when the "
                "article does not answer. `search` returns raw passages, `get_entry` an entry's full text, "
                "`list_models` rows of the model table.")
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


class CitationOut(BaseModel):
    number: int
    entry_id: str
    title: str
    quote: str = Field(description="Verified verbatim in the cited entry's passage.")
    source: str
    section: str
    verified: bool


class AskResult(BaseModel):
    answer: str = Field(description="The answer with [n] markers.")
    citations: list[CitationOut]
    refused: bool = Field(description="True when the article does not answer the question.")
    notice: str = Field(description="Why the answer is quoted rather than written (e.g. the LLM was down); empty otherwise.")
    query: str = Field(description="The question as searched (a follow-up rewritten with its subject).")
    mode: str


class SearchResult(BaseModel):
    passages: list[Passage]  # the Python API's dataclass: one definition of a passage's fields


class EntryPassage(BaseModel):
    node_id: str
    text: str


class EntryResult(BaseModel):
    entry_id: str
    title: str
    kind: str
    section: str
    source: str
    names: list[str]
    fields: dict[str, str]
    note: str
    text: str
    passages: list[EntryPassage]


class ModelRow(BaseModel):
    entry_id: str
    name: str
    creator: str
    generates: str


class ModelsResult(BaseModel):
    models: list[ModelRow]
    count: int


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


T = TypeVar("T")


def _call(secrets: tuple[str, ...], fn: Callable[[], T]) -> T:
    """Run a service call; its failures become tool errors with a safe message."""
    try:
        return fn()
    except AssistantError as exc:
        raise ToolError(safe(str(exc), secrets)) from None
    except Exception as exc:
        log_unexpected(exc, secrets)
        raise ToolError(GENERIC_ERROR) from None


def _result(text: str, structured: BaseModel) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured.model_dump(mode="json"))


def ask_text(result: AskResult) -> str:
    lines = [result.answer]
    if result.notice:
        lines += ["", f"Note: {result.notice}"]
    if result.citations:
        lines += ["", "Sources (quotes verified in the article):"]
        lines += [f"[{c.number}] {c.title} ({c.source}): “{c.quote}”" for c in result.citations]
    return "\n".join(lines)


def build_mcp(service: ApiService) -> MCPServer:
    """The MCP server and its four read-only tools over one ApiService."""
    mcp: MCPServer = MCPServer(NAME, title="Generative AI article assistant", instructions=INSTRUCTIONS, log_level="WARNING")
    secrets = service.secrets

    @mcp.tool(annotations=READ_ONLY)
    def ask(question: Annotated[str, Field(description="The question, e.g. 'Who created Whisper?'")],
            history: Annotated[list[HistoryTurn] | None, Field(
                description=f"Earlier turns, oldest first, for follow-ups (the last {HISTORY_MESSAGES} are used).")] = None,
            ) -> Annotated[CallToolResult, AskResult]:
        """Answer a question about generative AI from the article, with citations whose quotes are verified
        verbatim in the cited entries; refuses (refused=true) when the article does not answer."""
        turns = [(t.role, t.content) for t in history or []]
        answer = _call(secrets, lambda: service.ask(question, turns))
        result = AskResult(answer=answer.text, citations=[CitationOut(**citation_dict(c)) for c in answer.citations],
                           refused=answer.refused, notice=answer.notice, query=answer.query, mode=answer.mode)
        return _result(ask_text(result), result)

    @mcp.tool(annotations=READ_ONLY)
    def search(question: Annotated[str, Field(description="What to search for.")],
               k: Annotated[int | None, Field(ge=1, le=50, description="Passages to return (default 5).")] = None,
               ) -> Annotated[CallToolResult, SearchResult]:
        """Search the article: the best-matching passages with their entry ids and scores (no answer)."""
        passages = _call(secrets, lambda: service.retrieve(question, k))
        result = SearchResult(passages=passages)
        text = "\n".join(f"[{n}] {p.title} ({p.kind}, {p.entry_id}, score {p.score:.3f}): {' '.join(p.text.split())}"
                         for n, p in enumerate(passages, 1)) or "No passages found."
        return _result(text, result)

    @mcp.tool(annotations=READ_ONLY)
    def get_entry(entry_id: Annotated[str, Field(description="An entry id from ask or search, e.g. 'variational-autoencoders'.")],
                  ) -> Annotated[CallToolResult, EntryResult]:
        """One entry of the article (model row, concept, section, glossary term or ingested file) with its full text."""
        result = EntryResult(**_call(secrets, lambda: service.entry(entry_id)))
        return _result(f"{result.title} ({result.kind}; {result.source})\n\n{result.text}", result)

    @mcp.tool(annotations=READ_ONLY)
    def list_models(creator: Annotated[str | None, Field(description="Creator contains this (any case), e.g. 'nvidia'.")] = None,
                    generates: Annotated[str | None, Field(description="Output contains this (any case), e.g. 'image'.")] = None,
                    ) -> Annotated[CallToolResult, ModelsResult]:
        """Rows of the article's table of AI models (name, creator, what it generates), optionally filtered."""
        rows = _call(secrets, lambda: service.models(creator or "", generates or ""))
        result = ModelsResult(models=[ModelRow(**r) for r in rows], count=len(rows))
        text = "\n".join(f"{r['name']} — creator: {r['creator'] or 'none listed'} — generates: {r['generates']} ({r['entry_id']})"
                         for r in rows) or "No model in the table matches."
        return _result(text, result)

    return mcp


def run_stdio(settings: Settings) -> int:
    """``python -m assistant mcp``: the MCP tools over stdin/stdout; the LLM starts in the background."""
    from assistant.api import Assistant

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # stdout carries the protocol: anything printed while opening the index goes to stderr instead.
    with contextlib.redirect_stdout(sys.stderr):
        assistant = Assistant.from_settings(settings)
    try:
        if assistant.index_size == 0:
            say("building the index… (first run only)")
            with contextlib.redirect_stdout(sys.stderr):
                say(assistant.ingest().summary())
        # The handshake must not wait for a local model to load; questions asked meanwhile wait for it.
        threading.Thread(target=assistant.start_llm, name="llm-start", daemon=True).start()
        say(f"MCP server '{NAME}' on stdio (tools: ask, search, get_entry, list_models)")
        build_mcp(ApiService(assistant, settings)).run("stdio")
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        assistant.close()
