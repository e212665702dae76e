"""The tables as SQLAlchemy 2 declarative models (the schema at the latest migration).

``migrations.py`` creates and evolves the tables; a test checks that a migrated database matches
these models. Times are stored in UTC and come back timezone-aware on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ID_LENGTH = 36  # a UUID in its canonical text form
OWNER_LENGTH = 200


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC (naive on SQLite, ``timestamptz`` on PostgreSQL), read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> Any:
    """JSON on SQLite, JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class ConversationRow(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_owner_updated", "owner", "updated_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner: Mapped[str] = mapped_column(String(OWNER_LENGTH))
    title: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MessageRow(Base):
    """A question (role "user") or an answer (role "assistant", with the answer's fields)."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "position", name="uq_messages_position"),
                      CheckConstraint("role IN ('user', 'assistant')", name="ck_messages_role"))

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("conversations.id", ondelete="CASCADE"))
    position: Mapped[int]
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Answers only (NULL on questions):
    mode: Mapped[str | None] = mapped_column(String(32))
    query: Mapped[str | None] = mapped_column(Text)
    refused: Mapped[bool | None] = mapped_column(Boolean)
    incomplete: Mapped[bool | None] = mapped_column(Boolean)
    notice: Mapped[str | None] = mapped_column(Text)
    citations: Mapped[list[Any] | None] = mapped_column(json_type())  # Citation dicts, quotes included
    passages: Mapped[list[Any] | None] = mapped_column(json_type())  # the retrieved passages (source panel)
    unsupported: Mapped[list[Any] | None] = mapped_column(json_type())
    timings: Mapped[dict[str, Any] | None] = mapped_column(json_type())


class FeedbackRow(Base):
    """One owner's latest vote on one answer."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("message_id", "owner", name="uq_feedback_message_owner"),
                      CheckConstraint("vote IN ('up', 'down')", name="ck_feedback_vote"),
                      Index("ix_feedback_created", "created_at"))

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("messages.id", ondelete="CASCADE"))
    owner: Mapped[str] = mapped_column(String(OWNER_LENGTH))
    vote: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
