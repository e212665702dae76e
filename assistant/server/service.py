"""What every protocol (OpenAI-compatible, REST, MCP) calls: one Assistant behind one admission
limit, and the one JSON shape of citations, passages, entries and model rows they all return."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from assistant.api import final_answer
from assistant.conversations import ConversationNotFoundError, ConversationStoreError, StoreAccess
from assistant.errors import AssistantError, InputError
from assistant.knowledge import load_entries
from assistant.server.errors import BusyError, NotFoundError, safe
from assistant.server.security import secrets_of
from assistant.stages import NodeView
from assistant.types import Answer, Citation, Health, Passage

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.conversations import ConversationStore
    from assistant.knowledge import Entry
    from assistant.retrieval import IndexSnapshot

HISTORY_MESSAGES = 12  # the last 6 exchanges of a conversation are used for follow-ups (bounds the work per request)
MAX_ENTRY_ID = 200


def citation_dict(citation: Citation, base_url: str = "") -> dict[str, Any]:
    """A citation as every API returns it: the quote was verified verbatim in the cited passage."""
    item = {"number": citation.number, "entry_id": citation.entry_id, "title": citation.title, "quote": citation.quote,
            "source": citation.source, "section": citation.section, "verified": True}
    if base_url:
        item["url"] = entry_url(base_url, citation.entry_id)
    return item


def entry_url(base_url: str, entry_id: str) -> str:
    from urllib.parse import quote

    return f"{base_url.rstrip('/')}/api/entries/{quote(entry_id, safe='')}"


class ApiService:
    """The assistant as the servers use it; thread-safe, shared by every request."""

    def __init__(self, assistant: Assistant, settings: Settings, conversations: StoreAccess | None = None):
        self.assistant, self.settings = assistant, settings
        self.conversations = conversations or StoreAccess(settings)  # opened on first use
        self.secrets = secrets_of(settings)
        self._slots = threading.BoundedSemaphore(settings.api_max_concurrent)
        self._entries: tuple[IndexSnapshot, dict[str, Entry]] | None = None
        self._entries_lock = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of API_MAX_CONCURRENT slots, or raise BusyError at once (the client retries)."""
        if not self._slots.acquire(blocking=False):
            raise BusyError(f"The server is already answering {self.settings.api_max_concurrent} requests "
                            "(API_MAX_CONCURRENT); retry in a moment.")
        try:
            yield
        finally:
            self._slots.release()

    # --- answers ------------------------------------------------------------------------------
    def stream(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Generator[str | Answer, None, None]:
        """The model's text deltas, then the verified Answer (Assistant.stream inside one slot)."""
        with self.slot():
            yield from self.assistant.stream(question, list(history)[-HISTORY_MESSAGES:])

    def ask(self, question: str, history: Sequence[tuple[str, str]] = ()) -> Answer:
        """The verified Answer: the end of :meth:`stream`."""
        return final_answer(self.stream(question, history))

    # --- stored chats (docs/conversations.md) ---------------------------------------------------------
    def chats(self) -> ConversationStore:
        """The conversation store; ConversationStoreError (503) while it cannot be opened."""
        return self.conversations.get()

    def chat_history(self, owner: str, chat_id: str) -> list[tuple[str, str]]:
        """The last exchanges of the owner's chat, for follow-ups (ConversationNotFoundError: 404)."""
        return self.chats().history(owner, chat_id, turns=HISTORY_MESSAGES // 2)

    def save_exchange(self, owner: str, chat_id: str, question: str, answer: Answer) -> dict[str, Any]:
        """Store a question and its verified answer in the owner's chat. The answer is returned to the
        client whatever happens here; the result says whether it was stored (and if not, why)."""
        try:
            _, answered = self.chats().append_exchange(owner, chat_id, question, answer)
        except (ConversationStoreError, ConversationNotFoundError, InputError) as exc:
            return {"id": chat_id, "message_id": None, "stored": False, "warning": safe(str(exc), self.secrets)}
        return {"id": chat_id, "message_id": answered.id, "stored": True}

    def continue_chat(self, owner: str, chat_id: str, question: str) -> tuple[Answer, dict[str, Any]]:
        """Answer a question in a stored chat (its history read for follow-ups) and store the exchange."""
        history = self.chat_history(owner, chat_id)
        answer = self.ask(question, history)
        return answer, self.save_exchange(owner, chat_id, question, answer)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        with self.slot():
            return self.assistant.retrieve(question, k=k)

    def health(self) -> Health:
        return self.assistant.health()

    # --- entries and the model table ---------------------------------------------------------------
    def _knowledge(self) -> dict[str, Entry]:
        """The knowledge entries by id, re-read when the index was reloaded."""
        snapshot = self.assistant.snapshot
        with self._entries_lock:
            if self._entries is None or self._entries[0] is not snapshot:
                try:
                    entries = {e.id: e for e in load_entries(self.settings.knowledge_dir)}
                except (AssistantError, OSError):  # a broken knowledge folder must not hide what the index holds
                    entries = {}
                self._entries = (snapshot, entries)
            return self._entries[1]

    def entry(self, entry_id: str) -> dict[str, Any]:
        """One indexed entry (knowledge entry or file) with its source text and its passages."""
        entry_id = entry_id.strip() if isinstance(entry_id, str) else ""
        if not entry_id or len(entry_id) > MAX_ENTRY_ID:
            raise InputError(f"An entry id is 1 to {MAX_ENTRY_ID} characters, e.g. variational-autoencoders.")
        nodes = sorted((n for n in self.assistant.snapshot.nodes if NodeView.of(n).entry_id == entry_id),
                       key=lambda n: NodeView.of(n).chunk)
        if not nodes:
            raise NotFoundError(f"No entry {entry_id!r} in the index; search first (POST /api/retrieve or the search tool) "
                                "and use an entry_id it returns.")
        view, known = NodeView.of(nodes[0]), self._knowledge().get(entry_id)
        passages = [{"node_id": n.node_id, "text": n.get_content()} for n in nodes]
        return {"entry_id": entry_id, "title": view.title, "kind": view.kind, "section": view.section, "source": view.source,
                "names": view.names, "fields": view.fields, "note": known.note if known else "",
                "text": known.text if known else "\n\n".join(p["text"] for p in passages), "passages": passages}

    def models(self, creator: str = "", generates: str = "") -> list[dict[str, str]]:
        """Rows of the model table, filtered by creator and output (case-insensitive substrings)."""
        creator, generates = (creator or "").strip().lower(), (generates or "").strip().lower()
        rows, seen = [], set()
        for node in self.assistant.snapshot.nodes:
            view = NodeView.of(node)
            if view.kind != "model" or view.entry_id in seen:
                continue
            seen.add(view.entry_id)
            row = {"entry_id": view.entry_id, "name": view.title, "creator": view.field("creator"),
                   "generates": view.field("generates")}
            if creator in row["creator"].lower() and generates in row["generates"].lower():
                rows.append(row)
        return rows  # in the material's order (the index keeps it)
