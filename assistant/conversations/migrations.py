"""Schema migrations: a ``schema_version`` table and an ordered list of migration functions.

Why not Alembic: the store opens itself (no ``alembic upgrade`` step for people to forget), the
same steps run on SQLite and PostgreSQL inside one transaction (both have transactional DDL), and
there is no ``alembic.ini``/``env.py``/versions folder to ship as package data for three tables.
If the schema grows past a handful of steps, each step maps one-to-one onto an Alembic revision.

Rules: a step is never edited once released; it defines the tables as they were at its version
(not through ``models.py``, which is always the latest); the last step's result must equal
``models.py`` (tests/test_conversations.py checks it). Two processes opening a fresh database at once
are serialised (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-level advisory lock).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

from assistant.conversations.database import WRITE, use_wal
from assistant.conversations.errors import ConversationStoreCorruptError, ConversationStoreError
from assistant.conversations.models import UTCDateTime, json_type

VERSION_TABLE = "schema_version"
OUR_TABLES = frozenset({"conversations", "messages", "feedback"})
_LOCK_KEY = 0x6761636F6E76  # PostgreSQL advisory lock id of this store's migrations ("gaconv")

_version_meta = MetaData()
schema_version = Table(VERSION_TABLE, _version_meta,
                       Column("version", Integer, primary_key=True, autoincrement=False),
                       Column("applied_at", UTCDateTime(), nullable=False))


def _v1_initial(conn: Connection) -> None:
    """Conversations, messages (answers with citations, passages, timings), feedback."""
    meta = MetaData()
    Table("conversations", meta,
          Column("id", String(36), primary_key=True),
          Column("owner", String(200), nullable=False),
          Column("title", Text, nullable=False),
          Column("created_at", UTCDateTime(), nullable=False),
          Column("updated_at", UTCDateTime(), nullable=False),
          Index("ix_conversations_owner_updated", "owner", "updated_at"))
    Table("messages", meta,
          Column("id", String(36), primary_key=True),
          Column("conversation_id", String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
          Column("position", Integer, nullable=False),
          Column("role", String(16), nullable=False),
          Column("text", Text, nullable=False),
          Column("created_at", UTCDateTime(), nullable=False),
          Column("mode", String(32)),
          Column("query", Text),
          Column("refused", Boolean),
          Column("incomplete", Boolean),
          Column("notice", Text),
          Column("citations", json_type()),
          Column("passages", json_type()),
          Column("unsupported", json_type()),
          Column("timings", json_type()),
          UniqueConstraint("conversation_id", "position", name="uq_messages_position"),
          CheckConstraint("role IN ('user', 'assistant')", name="ck_messages_role"))
    Table("feedback", meta,
          Column("id", String(36), primary_key=True),
          Column("message_id", String(36), ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
          Column("owner", String(200), nullable=False),
          Column("vote", String(8), nullable=False),
          Column("reason", String(32)),
          Column("text", Text, nullable=False),
          Column("created_at", UTCDateTime(), nullable=False),
          UniqueConstraint("message_id", "owner", name="uq_feedback_message_owner"),
          CheckConstraint("vote IN ('up', 'down')", name="ck_feedback_vote"),
          Index("ix_feedback_created", "created_at"))
    meta.create_all(conn)


# Version N is reached by running MIGRATIONS[N - 1]. Append only.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1_initial]
LATEST = len(MIGRATIONS)


def current_version(conn: Connection, where: str) -> int:
    """The schema version of the database (0: empty). Refuses a database that holds someone else's tables."""
    tables = set(inspect(conn).get_table_names())
    if VERSION_TABLE not in tables:
        foreign = tables if conn.dialect.name == "sqlite" else tables & OUR_TABLES
        if foreign:
            raise ConversationStoreCorruptError(
                f"{where[:1].upper()}{where[1:]} already holds tables the assistant did not create "
                f"({', '.join(sorted(foreign)[:5])}); nothing was changed. Point DATABASE_URL at an empty database, "
                "or move the file aside and restart.")
        return 0
    return int(conn.scalar(select(func.max(schema_version.c.version))) or 0)


def migrate(engine: Engine, where: str) -> int:
    """Bring the database to the latest schema version (creating it when empty); returns that version."""
    with engine.connect() as conn, conn.begin():
        version = current_version(conn, where)
    _check_not_newer(version, where)
    use_wal(engine)  # only now: a file that is not ours is left exactly as it was
    if version == LATEST:
        return version
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            version = current_version(conn, where)  # another process may have migrated meanwhile
            _check_not_newer(version, where)
            if version == 0:
                schema_version.create(conn)
            for target in range(version + 1, LATEST + 1):
                MIGRATIONS[target - 1](conn)
                conn.execute(insert(schema_version).values(version=target, applied_at=datetime.now(UTC)))
    return LATEST


def _check_not_newer(version: int, where: str) -> None:
    if version > LATEST:
        raise ConversationStoreError(
            f"{where[:1].upper()}{where[1:]} has schema version {version}, written by a newer version of the assistant "
            f"(this one knows up to {LATEST}); upgrade the assistant, or point DATABASE_URL at another database.")
