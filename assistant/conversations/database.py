"""The conversation database's engine: a SQLite file in DATA_DIR by default, PostgreSQL when
DATABASE_URL is set; and the translation of driver failures into one clear error.

SQLite runs in WAL mode (readers never wait for the writer; switched on only once the file is known
to be ours, so a foreign or damaged file is never modified), with a busy timeout, foreign keys on
and ``synchronous=FULL``. Write transactions start with ``BEGIN IMMEDIATE`` so two processes queue
for the write lock instead of failing with "database is locked" when a read turns into a write.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from assistant.conversations.errors import ConversationStoreCorruptError, ConversationStoreError
from assistant.errors import ConfigError
from assistant.redact import redact

if TYPE_CHECKING:
    from assistant.config import Settings

log = logging.getLogger(__name__)

SQLITE_FILE = "conversations.db"
WRITE = "assistant_write"  # execution option: this transaction will write (SQLite: BEGIN IMMEDIATE)

try:  # the PostgreSQL driver's errors, when it is installed
    import psycopg

    _DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
except ImportError:  # pragma: no cover - psycopg is a dependency
    _DRIVER_ERRORS = (sqlite3.Error,)
_FAILURES: tuple[type[Exception], ...] = (SQLAlchemyError, OSError, *_DRIVER_ERRORS)

# Failure texts of SQLite and PostgreSQL, by what a person should do about them.
_CORRUPT = ("file is not a database", "malformed", "not a database", "file is encrypted")
_LOCKED = ("database is locked", "database table is locked", "database is busy", "lock timeout", "could not obtain lock")
_UNWRITABLE = ("readonly", "read-only", "unable to open", "permission denied", "operation not permitted",
               "disk i/o error", "database or disk is full", "no space left", "not writable", "is a directory")
_UNREACHABLE = ("connection refused", "could not connect", "connection failed", "timeout expired", "could not translate host",
                "server closed the connection", "terminating connection", "connection is closed", "the database system is")


def database_url(settings: Settings) -> URL:
    """The URL to open: DATABASE_URL, or the SQLite file DATA_DIR/conversations.db."""
    if not settings.database_url.strip():
        return URL.create("sqlite+pysqlite", database=str(settings.data_dir / SQLITE_FILE))
    try:
        url = make_url(settings.database_url.strip())
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a database URL; use postgresql://user:password@host:5432/name "
                          "or sqlite:///path/to/file.db (or leave it empty for DATA_DIR/conversations.db).") from None
    return normalise_url(url)


def normalise_url(url: URL) -> URL:
    """PostgreSQL URLs use the psycopg 3 driver unless they name one; only SQLite files and PostgreSQL are accepted."""
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return url.set(drivername="postgresql+psycopg") if "+" not in url.drivername else url
    if backend == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise ConfigError("DATABASE_URL names an in-memory SQLite database, which forgets every chat; "
                              "give a file (sqlite:///path/to/file.db) or leave it empty.")
        return url
    raise ConfigError(f"DATABASE_URL uses {backend!r}; the conversation store supports PostgreSQL "
                      "(postgresql://...) and SQLite (sqlite:///file.db).")


def describe(url: URL, settings: Settings | None = None) -> str:
    """How messages name the database: never a password, never a full path."""
    if url.get_backend_name() == "sqlite":
        name = Path(url.database or SQLITE_FILE).name
        default = settings is not None and not settings.database_url.strip()
        return f"the conversation database ({f'DATA_DIR/{name}' if default else f'{name} from DATABASE_URL'})"
    return f"the conversation database (PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''})"


def build_engine(url: URL, timeout: float = 5.0) -> Engine:
    """An engine for `url` with the SQLite pragmas or PostgreSQL timeouts set on every connection."""
    serialise = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    try:
        if url.get_backend_name() == "sqlite":
            path = Path(url.database or SQLITE_FILE)
            if path.exists() and path.is_dir():
                raise ConversationStoreError(f"The path of {describe(url)} is a folder, not a file; "
                                             "move it away or set DATABASE_URL.")
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, json_serializer=serialise, pool_pre_ping=False,
                                   connect_args={"timeout": timeout, "check_same_thread": False})
            _sqlite_events(engine, timeout)
            return engine
        options = f"-c lock_timeout={int(timeout * 1000)} -c idle_in_transaction_session_timeout=60000"
        return create_engine(url, json_serializer=serialise, pool_pre_ping=True,
                             connect_args={"connect_timeout": max(1, round(timeout)), "options": options})
    except NoSuchModuleError:
        raise ConfigError(f"DATABASE_URL names the driver {url.drivername!r}, which is not installed; "
                          "use postgresql+psycopg://... (installed with the assistant).") from None
    except OSError as exc:
        raise error_for(exc, describe(url)) from exc


def _sqlite_events(engine: Engine, timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below): transactional DDL, IMMEDIATE writes
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = FULL")  # WAL mode itself is set once the file is known to be ours
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def use_wal(engine: Engine, timeout: float = 30.0) -> None:
    """Switch a SQLite database to WAL mode (persistent in the file; a no-op when it already is).

    The switch needs the file to itself and SQLite answers "database is locked" at once, without its
    busy handler, while another process holds a lock (two processes opening a new file together): it
    is retried with back-off for up to `timeout` seconds, since it is idempotent."""
    if engine.dialect.name != "sqlite":
        return
    deadline, pause = time.monotonic() + timeout, 0.05
    while True:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            cursor.close()
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        finally:
            raw.close()
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
    if str(mode).lower() != "wal":
        log.warning("the conversation database could not switch to WAL mode (journal_mode=%s)", mode)


def _detail(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    return redact(text)[:200]


def error_for(exc: BaseException, where: str) -> ConversationStoreError:
    """One clear error for a driver or file-system failure: what happened and what to do."""
    detail = _detail(exc)
    low = detail.lower()
    where = where[:1].upper() + where[1:]
    if any(s in low for s in _CORRUPT):
        return ConversationStoreCorruptError(
            f"{where} is damaged or is not a database ({detail}). Nothing was changed or recreated: "
            "move the file aside (for example rename it to conversations.db.broken) and restart for an empty history, "
            "or restore it from a backup (`sqlite3 FILE .recover` may rescue its chats).")
    if any(s in low for s in _LOCKED):
        return ConversationStoreError(
            f"{where} is locked by another program ({detail}); this chat is not being saved. "
            "Close the program that holds it, or raise DATABASE_TIMEOUT, and try again.")
    if isinstance(exc, OSError) or any(s in low for s in _UNWRITABLE):
        return ConversationStoreError(
            f"{where} is not writable ({detail}); chats are not being saved. "
            "Make DATA_DIR writable (or set DATABASE_URL to a writable database) and restart.")
    if any(s in low for s in _UNREACHABLE):
        return ConversationStoreError(
            f"{where} cannot be reached ({detail}); chats are not being saved. "
            "Start the database server or fix DATABASE_URL.")
    log.warning("unexpected conversation database failure", exc_info=exc)
    return ConversationStoreError(
        f"{where} failed ({type(getattr(exc, 'orig', None) or exc).__name__}: {detail}); "
        "chats are not being saved. The details are in the server log.")


@contextmanager
def translate_errors(where: str) -> Iterator[None]:
    """Run a database operation; driver and file-system failures become one ConversationStoreError."""
    try:
        yield
    except _FAILURES as exc:
        log.info("conversation database failure: %s", redact(str(exc)))
        raise error_for(exc, where) from exc
