"""ConversationStore: the repository the UI and HTTP handlers call to keep chats and feedback.

Every method takes the owner first and only ever sees that owner's rows: another owner's chat is
reported exactly like a missing one (:class:`ConversationNotFoundError`). Database failures raise
:class:`ConversationStoreError` (the caller keeps chatting and shows it as a warning). Every write
cleans its text and caps it (:class:`Limits`), counted on what is stored.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from assistant.conversations.database import (
    WRITE,
    build_engine,
    database_url,
    describe,
    normalise_url,
    translate_errors,
)
from assistant.conversations.errors import ConversationNotFoundError
from assistant.conversations.export import to_json, to_markdown
from assistant.conversations.migrations import migrate
from assistant.conversations.models import ConversationRow, FeedbackRow, MessageRow
from assistant.conversations.records import (
    VOTES,
    Conversation,
    Feedback,
    Limits,
    Message,
    Role,
    Vote,
    clean_json,
    clip,
    one_line,
    owner_id,
    reason_code,
)
from assistant.errors import ConfigError, InputError
from assistant.types import Answer, Citation, Passage, Timings

if TYPE_CHECKING:
    from assistant.config import Settings

Conversations = list[Conversation]
Turns = list[tuple[str, str]]
T = TypeVar("T")

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CHAT_NOT_FOUND = "This chat was not found (it may have been deleted); start a new chat."
ANSWER_NOT_FOUND = "This answer was not found (its chat may have been deleted)."
ANSWER_JSON_CHARS = 200_000  # citations + passages of one answer, as stored


def new_id() -> str:
    return str(uuid.uuid4())


class ConversationStore:
    """Chats, their messages (answers with citations) and feedback, in SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, where: str = "the conversation database", limits: Limits | None = None):
        self.engine, self.where, self.limits = engine, where, limits or Limits()

    @classmethod
    def open(cls, url: str | URL, timeout: float = 5.0, limits: Limits | None = None, where: str = "") -> ConversationStore:
        """Open (creating and migrating when needed) the database at `url`."""
        try:
            parsed = normalise_url(make_url(url) if isinstance(url, str) else url)
        except ArgumentError:
            raise ConfigError("The conversation database URL is not a database URL; use postgresql://user:password@host/name "
                              "or sqlite:///path/to/file.db.") from None
        where = where or describe(parsed)
        with translate_errors(where):
            engine = build_engine(parsed, timeout)
        try:
            with translate_errors(where):
                migrate(engine, where)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, where, limits)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConversationStore:
        """The store DATABASE_URL names (empty: DATA_DIR/conversations.db), with the settings' limits."""
        url = database_url(settings)
        limits = Limits(feedback_chars=settings.feedback_max_chars, turns=settings.conversation_max_turns,
                        conversations=settings.conversations_per_owner)
        return cls.open(url, settings.database_timeout, limits, describe(url, settings))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """One transaction (committed at the end, rolled back on error); failures become ConversationStoreError."""
        with translate_errors(self.where), Session(self.engine, expire_on_commit=False) as session:
            session.connection(execution_options={WRITE: write})
            yield session
            session.commit()

    def ping(self) -> None:
        """Raise ConversationStoreError unless the database answers (e.g. to clear a UI warning)."""
        with self.session() as s:
            s.execute(select(func.count()).select_from(ConversationRow).where(ConversationRow.id == ""))

    # --- chats --------------------------------------------------------------------------------
    def create(self, owner: str, title: str = "") -> Conversation:
        """A new, empty chat. Without a title, the first question becomes its title."""
        owner = owner_id(owner, self.limits)
        title = one_line(title or "", self.limits.title_chars)
        now = _now()
        with self.session(write=True) as s:
            count = s.scalar(select(func.count()).select_from(ConversationRow).where(ConversationRow.owner == owner)) or 0
            if count >= self.limits.conversations:
                raise InputError(f"You have {count} chats, the most kept per person; delete old ones to start a new chat.")
            row = ConversationRow(id=new_id(), owner=owner, title=title, created_at=now, updated_at=now)
            s.add(row)
        return _conversation(row)

    def list(self, owner: str, limit: int = 50) -> Conversations:
        """The owner's chats, most recently active first (without their messages)."""
        owner = owner_id(owner, self.limits)
        limit = max(1, min(int(limit), 1000))
        with self.session() as s:
            rows = s.scalars(select(ConversationRow).where(ConversationRow.owner == owner)
                             .order_by(ConversationRow.updated_at.desc(), ConversationRow.created_at.desc(),
                                       ConversationRow.id.desc()).limit(limit)).all()
            return [_conversation(r) for r in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation:
        """The chat with every message (answers with citations and passages) and the owner's feedback."""
        owner, cid = owner_id(owner, self.limits), _checked_id(conversation_id, CHAT_NOT_FOUND)
        with self.session() as s:
            row = self._owned(s, owner, cid)
            messages = s.scalars(select(MessageRow).where(MessageRow.conversation_id == cid)
                                 .order_by(MessageRow.position)).all()
            votes = s.scalars(select(FeedbackRow).join(MessageRow, FeedbackRow.message_id == MessageRow.id)
                              .where(MessageRow.conversation_id == cid, FeedbackRow.owner == owner)).all()
            by_message = {f.message_id: _feedback(f) for f in votes}
            conversation = _conversation(row)
            conversation.messages = [_message(m, by_message.get(m.id)) for m in messages]
            return conversation

    def rename(self, owner: str, conversation_id: str, title: str) -> Conversation:
        owner, cid = owner_id(owner, self.limits), _checked_id(conversation_id, CHAT_NOT_FOUND)
        title = one_line(title if isinstance(title, str) else "", self.limits.title_chars)
        if not title:
            raise InputError("A chat's title cannot be empty; type a few words.")
        with self.session(write=True) as s:
            row = self._owned(s, owner, cid, lock=True)
            row.title, row.updated_at = title, _now()
        return _conversation(row)

    def delete(self, owner: str, conversation_id: str) -> None:
        """Delete the chat with its messages and their feedback."""
        owner, cid = owner_id(owner, self.limits), _checked_id(conversation_id, CHAT_NOT_FOUND)
        with self.session(write=True) as s:
            self._owned(s, owner, cid, lock=True)
            s.execute(delete(ConversationRow).where(ConversationRow.id == cid, ConversationRow.owner == owner))

    # --- messages -----------------------------------------------------------------------------
    def append_exchange(self, owner: str, conversation_id: str, question: str, answer: Answer) -> tuple[Message, Message]:
        """Store a question and its answer in one transaction: both are kept, or neither.

        Returns the stored (question, answer) messages; the answer message's id is what feedback names."""
        owner, cid = owner_id(owner, self.limits), _checked_id(conversation_id, CHAT_NOT_FOUND)
        text = clip(question if isinstance(question, str) else "", self.limits.text_chars).strip()
        if not text.strip():
            raise InputError("An empty question is not stored; type a question.")
        fields = self._answer_fields(answer)
        now = _now()
        with self.session(write=True) as s:
            chat = self._owned(s, owner, cid, lock=True)  # the row lock orders concurrent appends on PostgreSQL
            last = s.scalar(select(func.max(MessageRow.position)).where(MessageRow.conversation_id == cid))
            position = 0 if last is None else last + 1
            if position // 2 >= self.limits.turns:
                raise InputError(f"This chat has reached {self.limits.turns} questions, the most kept in one chat; "
                                 "start a new chat to go on.")
            asked = MessageRow(id=new_id(), conversation_id=cid, position=position, role="user", text=text, created_at=now)
            answered = MessageRow(id=new_id(), conversation_id=cid, position=position + 1, role="assistant",
                                  created_at=now, **fields)
            s.add_all([asked, answered])
            if not chat.title:
                chat.title = one_line(text, self.limits.title_chars)
            chat.updated_at = now
        return _message(asked), _message(answered)

    def history(self, owner: str, conversation_id: str, turns: int | None = None) -> Turns:
        """(role, text) pairs in order, for follow-up questions; the last `turns` exchanges when given."""
        owner, cid = owner_id(owner, self.limits), _checked_id(conversation_id, CHAT_NOT_FOUND)
        with self.session() as s:
            self._owned(s, owner, cid)
            rows = s.execute(select(MessageRow.role, MessageRow.text).where(MessageRow.conversation_id == cid)
                             .order_by(MessageRow.position)).all()
        pairs = [(str(role), str(text)) for role, text in rows]
        return pairs[-2 * turns:] if turns else pairs

    # --- feedback -----------------------------------------------------------------------------
    def add_feedback(self, owner: str, message_id: str, vote: str, reason: str | None = None, text: str = "") -> Feedback:
        """Record the owner's 👍/👎 on an answer, with a reason (a code or label of REASONS) and free text.
        A later vote on the same answer replaces the earlier one."""
        owner, mid = owner_id(owner, self.limits), _checked_id(message_id, ANSWER_NOT_FOUND)
        if vote not in VOTES:
            raise InputError("A vote is 'up' or 'down'.")
        code = reason_code(reason)
        comment = clip(text if isinstance(text, str) else "", self.limits.feedback_chars)
        now = _now()
        with self.session(write=True) as s:
            role = s.scalar(select(MessageRow.role).join(ConversationRow, MessageRow.conversation_id == ConversationRow.id)
                            .where(MessageRow.id == mid, ConversationRow.owner == owner))
            if role is None:
                raise ConversationNotFoundError(ANSWER_NOT_FOUND)
            if role != "assistant":
                raise InputError("Feedback goes on answers, not on questions.")
            values = {"vote": vote, "reason": code, "text": comment, "created_at": now}
            insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
            s.execute(insert(FeedbackRow).values(id=new_id(), message_id=mid, owner=owner, **values)
                      .on_conflict_do_update(index_elements=["message_id", "owner"], set_=values))
        return Feedback(message_id=mid, vote=vote, reason=code, text=comment, created_at=now)

    # --- export -------------------------------------------------------------------------------
    def export_markdown(self, owner: str, conversation_id: str) -> str:
        """The chat as Markdown: questions, answers, and each answer's sources with their quotes."""
        return to_markdown(self.get(owner, conversation_id))

    def export_json(self, owner: str, conversation_id: str) -> str:
        """The chat as a JSON document (everything stored except the owner)."""
        return to_json(self.get(owner, conversation_id))

    # --- helpers ------------------------------------------------------------------------------
    def _owned(self, s: Session, owner: str, cid: str, lock: bool = False) -> ConversationRow:
        query = select(ConversationRow).where(ConversationRow.id == cid, ConversationRow.owner == owner)
        row = s.scalar(query.with_for_update() if lock else query)
        if row is None:  # missing and not-yours are one answer: nothing tells another owner's chat exists
            raise ConversationNotFoundError(CHAT_NOT_FOUND)
        return row

    def _answer_fields(self, answer: Answer) -> dict[str, Any]:
        if not isinstance(answer, Answer):
            raise TypeError("append_exchange needs an assistant.types.Answer")
        limits = self.limits
        citations = clean_json([c.to_dict() for c in answer.citations], limits)
        passages = clean_json([p.to_dict() for p in answer.passages], limits)
        while len(json.dumps([citations, passages], ensure_ascii=False)) > ANSWER_JSON_CHARS and (passages or citations):
            (passages or citations).pop()
        return {"text": clip(answer.text, self.limits.text_chars), "mode": clip(answer.mode, 32),
                "query": clip(answer.query, self.limits.text_chars), "refused": bool(answer.refused),
                "incomplete": bool(answer.incomplete), "notice": clip(answer.notice, self.limits.text_chars),
                "citations": citations, "passages": passages,
                "unsupported": clean_json(list(answer.unsupported), limits),
                "timings": clean_json(dataclasses.asdict(answer.timings), limits)}


def _now() -> datetime:
    return datetime.now(UTC)


def _checked_id(value: object, missing: str) -> str:
    """A well-formed id, else "not found" (never a driver error on garbage such as lone surrogates)."""
    if isinstance(value, str) and _ID.fullmatch(value.strip().lower()):
        return value.strip().lower()
    raise ConversationNotFoundError(missing)


def _conversation(row: ConversationRow) -> Conversation:
    return Conversation(id=row.id, owner=row.owner, title=row.title, created_at=row.created_at, updated_at=row.updated_at)


def _feedback(row: FeedbackRow) -> Feedback:
    vote: Vote = "up" if row.vote == "up" else "down"
    return Feedback(message_id=row.message_id, vote=vote, reason=row.reason, text=row.text, created_at=row.created_at)


def _message(row: MessageRow, feedback: Feedback | None = None) -> Message:
    role: Role = "assistant" if row.role == "assistant" else "user"
    answer = None
    if role == "assistant":
        answer = Answer(text=row.text, citations=[_restore(Citation, c) for c in row.citations or []],
                        refused=bool(row.refused), passages=[_restore(Passage, p) for p in row.passages or []],
                        query=row.query or "", mode=row.mode or "generated",  # type: ignore[arg-type]
                        unsupported=[str(u) for u in row.unsupported or []], incomplete=bool(row.incomplete),
                        notice=row.notice or "", timings=_restore(Timings, row.timings or {}))
    return Message(id=row.id, position=row.position, role=role, text=row.text, created_at=row.created_at,
                   answer=answer, feedback=feedback)


_EMPTY = {"str": "", "int": 0, "float": 0.0}


def _restore(cls: type[T], data: dict[str, Any]) -> T:
    """A dataclass from stored JSON, tolerant of fields added or removed since it was stored."""
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {k: v for k, v in data.items() if k in known}
    for name, f in known.items():
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            values[name] = _EMPTY.get(str(f.type), "")
    return cls(**values)
