"""What the conversation store hands its callers: plain records, the feedback vocabulary, the limits,
and the one normalisation every write path applies (clean text, then cap what is stored)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from assistant.errors import InputError
from assistant.text import clean_text
from assistant.types import Answer

Role = Literal["user", "assistant"]
Vote = Literal["up", "down"]
VOTES: tuple[Vote, ...] = ("up", "down")

# Why an answer got a thumbs-down: stored code -> the label people see (the UI's choices, in order).
REASONS: dict[str, str] = {
    "wrong_fact": "wrong fact",
    "wrong_source": "wrong or missing source",
    "should_not_refuse": "should not have refused",
    "should_refuse": "should have refused",
    "not_relevant": "not relevant",
    "other": "other",
}
UNTITLED = "New chat"  # shown for a chat that has no title yet


@dataclass(frozen=True)
class Limits:
    """Caps on what one write may store, counted on the stored (cleaned) text."""

    text_chars: int = 20_000  # a question, an answer, its query and notice
    field_chars: int = 4_000  # each string inside an answer's citations, passages, unsupported sentences
    feedback_chars: int = 2_000  # the free text of one feedback
    title_chars: int = 120
    owner_chars: int = 200
    items: int = 50  # citations, passages and unsupported sentences kept per answer
    turns: int = 500  # exchanges (question + answer) per chat
    conversations: int = 1_000  # chats per owner


@dataclass
class Feedback:
    """One owner's vote on one answer (a later vote replaces it)."""

    message_id: str
    vote: Vote
    reason: str | None  # a key of REASONS
    text: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": self.created_at.isoformat()}


@dataclass
class Message:
    """One stored turn. Answers (role "assistant") carry the full Answer (citations with quotes,
    passages, mode, query, notice, timings); ``id`` is the answer id that feedback refers to."""

    id: str
    position: int  # 0-based order in the chat: questions even, answers odd
    role: Role
    text: str
    created_at: datetime
    answer: Answer | None = None
    feedback: Feedback | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "position": self.position, "role": self.role, "text": self.text,
                "created_at": self.created_at.isoformat(),
                "answer": _answer_dict(self.answer) if self.answer else None,
                "feedback": self.feedback.to_dict() if self.feedback else None}


@dataclass
class Conversation:
    """A chat. ``messages`` is filled by ``ConversationStore.get`` and left empty by ``list``."""

    id: str
    owner: str
    title: str
    created_at: datetime
    updated_at: datetime
    messages: list[Message] = field(default_factory=list)

    @property
    def display_title(self) -> str:
        return self.title or UNTITLED

    def to_dict(self) -> dict[str, Any]:
        """Everything but the owner (an anonymous owner id works like a password: never exported)."""
        return {"id": self.id, "title": self.title, "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat(), "messages": [m.to_dict() for m in self.messages]}


def _answer_dict(answer: Answer) -> dict[str, Any]:
    data = answer.to_dict()
    data.pop("text")  # the message's text
    return data


# --- normalisation ----------------------------------------------------------------------------
def clip(text: str, limit: int) -> str:
    """`text` cleaned (no control, invisible or line-separator characters) and cut to `limit` characters."""
    text = clean_text(text if isinstance(text, str) else str(text))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def clean_json(value: Any, limits: Limits) -> Any:
    """A JSON-ready copy of `value` with every string clipped and every list capped."""
    if isinstance(value, str):
        return clip(value, limits.field_chars)
    if isinstance(value, dict):
        return {clip(str(k), 100): clean_json(v, limits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v, limits) for v in list(value)[: limits.items]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return clip(str(value), limits.field_chars)


def one_line(text: str, limit: int) -> str:
    """`text` cleaned and on one line, cut at a word boundary to at most `limit` characters."""
    text = " ".join(clean_text(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def owner_id(owner: str, limits: Limits) -> str:
    """The owner key as stored; an empty one is a programming error at the caller's edge."""
    value = " ".join(clean_text(owner if isinstance(owner, str) else "").split())
    if not value or len(value) > limits.owner_chars:
        raise InputError(f"The chat owner must be 1–{limits.owner_chars} characters; sign in again or reload the page.")
    return value


def reason_code(reason: str | None) -> str | None:
    """The stored code of a reason given as a code or as its label; None for no reason."""
    if reason is None or not str(reason).strip():
        return None
    key = " ".join(str(reason).split()).lower()
    for code, label in REASONS.items():
        if key in (code, label):
            return code
    raise InputError(f"Unknown feedback reason {clip(key, 40)!r}; choose one of: {', '.join(REASONS.values())}.")
