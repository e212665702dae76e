"""The conversation store under faults, with separate processes on one SQLite file or one real
PostgreSQL: concurrent writers (F17), a locked, unwritable or unreachable database (F18), a corrupt
file (F19), kill -9 in the middle of storing an exchange (F20), and scale-out (L8)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.conversations import ConversationStore, ConversationStoreCorruptError, ConversationStoreError
from tests.conftest import PROJECT_DIR, PostgresCluster, free_port, make_settings
from tests.test_conversations_worker import answer_to

WORKER = [sys.executable, "-m", "tests.test_conversations_worker"]


def worker(*args: str, stdin: bool = False) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    return subprocess.Popen([*WORKER, *args], cwd=PROJECT_DIR, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)


def run_worker(*args: str) -> str:
    proc = worker(*args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out.strip()


def race(*procs: subprocess.Popen) -> list[str]:
    """Start every worker's writes at the same moment (each waits for "go" after READY); their outputs."""
    for proc in procs:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == "READY", line + proc.stderr.read()  # type: ignore[union-attr]
    for proc in procs:
        proc.stdin.write("go\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outputs.append(out.strip())
    return outputs


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.db'}"
    return request.getfixturevalue("postgres_cluster").create_database()


# --- F17: two processes writing at once lose nothing -----------------------------------------------
def test_F17_two_processes_append_concurrently_and_lose_nothing(url):
    n = 25
    with ConversationStore.open(url) as store:
        shared = store.create("alice", "shared")
    procs = [worker("append", url, "alice", shared.id, str(n), tag, stdin=True) for tag in ("A", "B")]
    own_ids = race(*procs)
    with ConversationStore.open(url) as store:
        messages = store.get("alice", shared.id).messages
        assert [m.position for m in messages] == list(range(4 * n))
        assert [m.role for m in messages] == ["user", "assistant"] * 2 * n
        for asked, answered in zip(messages[::2], messages[1::2], strict=True):  # each exchange stayed together
            assert answered.text == f"answer to {asked.text} [1]"
            assert answered.answer.citations[0].quote == "compressed, latent representation"
        for tag in ("A", "B"):  # every question of each process, in that process's order
            assert [m.text for m in messages if m.text.startswith(f"{tag} question")] == [f"{tag} question {i}" for i in range(n)]
        for own in own_ids:
            assert len(store.history("alice", own)) == 2 * n
        assert len(store.list("alice")) == 3


def test_F17_two_processes_create_a_fresh_database_at_once(url):
    ids = race(*[worker("migrate", url, owner, stdin=True) for owner in ("alice", "bob")])
    with ConversationStore.open(url) as store:
        assert [c.id for c in store.list("alice")] == [ids[0]] and [c.id for c in store.list("bob")] == [ids[1]]
        with store.session() as s:
            from sqlalchemy import text

            assert s.scalar(text("SELECT count(*) FROM schema_version")) == 1


# --- F20: kill -9 while an exchange is being stored ---------------------------------------------------
def test_F20_kill_9_mid_exchange_loses_no_earlier_message(url):
    with ConversationStore.open(url) as store:
        chat = store.create("alice")
    proc = worker("hang", url, "alice", chat.id, "3")
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == "MID", line + proc.stderr.read()  # type: ignore[union-attr]
        proc.send_signal(signal.SIGKILL)  # both rows written, COMMIT not yet sent
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with ConversationStore.open(url) as store:
        history = store.history("alice", chat.id)
        assert history == [(role, text) for i in range(3)
                           for role, text in (("user", f"question {i}"), ("assistant", f"answer to question {i} [1]"))]
        store.append_exchange("alice", chat.id, "after the crash", answer_to("after the crash"))  # the lock was released
        assert len(store.history("alice", chat.id)) == 8
        if url.startswith("sqlite"):
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


# --- L8: scale-out: a chat started by one app process continues in another ---------------------------
def test_L8_chat_started_in_one_process_continues_in_another_on_postgres(postgres):
    url = postgres
    chat_id = run_worker("start", url, "alice", "What is a VAE?")
    history = json.loads(run_worker("continue", url, "alice", chat_id, "Who made it?"))
    assert [tuple(t) for t in history] == [("user", "What is a VAE?"), ("assistant", "answer to What is a VAE? [1]"),
                                           ("user", "Who made it?"), ("assistant", "answer to Who made it? [1]")]
    history = json.loads(run_worker("continue", url, "alice", chat_id, "And what does it output?"))
    assert len(history) == 6
    with pytest.raises(subprocess.CalledProcessError):  # still owner-scoped across processes
        subprocess.run([*WORKER, "continue", url, "mallory", chat_id, "mine?"], cwd=PROJECT_DIR, check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)})


# --- F18: locked, unwritable or unreachable database: one clear error ---------------------------------
def test_F18_locked_sqlite_database_gives_one_clear_error(tmp_path):
    path = tmp_path / "conversations.db"
    with ConversationStore.open(f"sqlite:///{path}", timeout=0.3) as store:
        chat = store.create("alice")
        store.append_exchange("alice", chat.id, "before", answer_to("before"))
        other = sqlite3.connect(path, isolation_level=None)  # another program holds the write lock
        other.execute("BEGIN EXCLUSIVE")
        try:
            start = time.monotonic()
            with pytest.raises(ConversationStoreError) as raised:
                store.append_exchange("alice", chat.id, "during", answer_to("during"))
            assert time.monotonic() - start < 3
            assert str(raised.value).startswith("The conversation database (conversations.db from DATABASE_URL) is locked "
                                                 "by another program (database is locked); this chat is not being saved.")
            assert str(tmp_path) not in str(raised.value)
            assert store.history("alice", chat.id)[0] == ("user", "before")  # WAL: reading goes on
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.append_exchange("alice", chat.id, "after", answer_to("after"))  # recovers once the lock is gone
        assert [t for r, t in store.history("alice", chat.id) if r == "user"] == ["before", "after"]


def test_F18_locked_postgres_row_gives_one_clear_error(postgres_cluster):
    import psycopg

    url = postgres_cluster.create_database()
    with ConversationStore.open(url, timeout=0.5) as store:
        chat = store.create("alice")
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo) as other:
            other.execute("SELECT * FROM conversations WHERE id = %s FOR UPDATE", (chat.id,))
            with pytest.raises(ConversationStoreError, match=r"is locked by another program \(canceling statement due to "
                                                             r"lock timeout\); this chat is not being saved"):
                store.append_exchange("alice", chat.id, "during", answer_to("during"))
            other.rollback()
        store.append_exchange("alice", chat.id, "after", answer_to("after"))
        assert store.history("alice", chat.id)[0] == ("user", "after")


@contextlib.contextmanager
def immutable(*paths: Path):
    """Make files and folders unwritable even for root (the tests run as root in CI): `chattr +i`."""
    if os.geteuid() != 0:
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p in paths:
                p.chmod(0o755 if p.is_dir() else 0o644)
        return
    done = []
    try:
        for p in paths:
            if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode:
                pytest.skip("running as root on a filesystem without chattr +i: cannot make the database unwritable")
            done.append(p)
        yield
    finally:
        for p in done:
            subprocess.run(["chattr", "-i", str(p)], check=True)


def test_F18_unwritable_database_gives_one_clear_error(tmp_path):
    data = tmp_path / "data"
    settings = make_settings(data)
    with ConversationStore.from_settings(settings) as store:
        chat = store.create("alice")
    with immutable(data / "conversations.db", data):
        start = time.monotonic()
        with pytest.raises(ConversationStoreError, match=r"^The conversation database \(DATA_DIR/conversations.db\) is "
                                                         r"not writable \(.+\); chats are not being saved\. Make DATA_DIR "
                                                         r"writable") as raised:
            with ConversationStore.from_settings(settings) as store:
                store.append_exchange("alice", chat.id, "q", answer_to("q"))
        assert time.monotonic() - start < 10
        assert str(tmp_path) not in str(raised.value)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with immutable(fresh), pytest.raises(ConversationStoreError, match="is not writable"):
        ConversationStore.from_settings(make_settings(fresh / "data"))
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ConversationStoreError, match="is not writable"):
        ConversationStore.from_settings(make_settings(tmp_path / "file"))
    with ConversationStore.from_settings(settings) as store:  # writable again: everything is there
        assert store.get("alice", chat.id).id == chat.id


def test_F18_unreachable_postgres_gives_one_clear_error():
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/assistant"
    start = time.monotonic()
    with pytest.raises(ConversationStoreError, match=r"^The conversation database \(PostgreSQL at 127.0.0.1:\d+/assistant\) "
                                                     r"cannot be reached \(.*\); chats are not being saved\. Start the "
                                                     r"database server or fix DATABASE_URL\.$"):
        ConversationStore.open(url, timeout=2)
    assert time.monotonic() - start < 10


# --- F19: a corrupt file: a clear error with the fix, and nothing recreated over it ----------------
def test_F19_garbage_file_is_reported_and_left_unchanged(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    path = data / "conversations.db"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    for _ in range(2):  # opening again changes nothing either
        with pytest.raises(ConversationStoreCorruptError) as raised:
            ConversationStore.from_settings(make_settings(data))
        assert str(raised.value) == (
            "The conversation database (DATA_DIR/conversations.db) is damaged or is not a database (file is not a "
            "database). Nothing was changed or recreated: move the file aside (for example rename it to "
            "conversations.db.broken) and restart for an empty history, or restore it from a backup "
            "(`sqlite3 FILE .recover` may rescue its chats).")
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in data.iterdir()) == ["conversations.db"]


def test_F19_damaged_pages_are_reported_and_left_unchanged(tmp_path):
    path = tmp_path / "conversations.db"
    with ConversationStore.open(f"sqlite:///{path}") as store:
        chat = store.create("alice")
        for i in range(30):
            store.append_exchange("alice", chat.id, f"question {i} " + "x" * 500, answer_to(f"q{i}"))
    data = bytearray(path.read_bytes())
    page = 4096
    data[page:] = b"\xa5" * (len(data) - page)  # every page but the first (the schema) overwritten
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(ConversationStoreCorruptError, match=r"is damaged or is not a database \(.*malformed.*\)\. "
                                                            r"Nothing was changed or recreated"):
        with ConversationStore.open(f"sqlite:///{path}") as store:
            store.get("alice", chat.id)
    assert path.read_bytes() == before


def test_F19_cli_reports_a_corrupt_database_without_a_traceback(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "conversations.db").write_bytes(b"garbage" * 1000)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env.update(DATA_DIR=str(data), PYTHONPATH=str(PROJECT_DIR))
    result = subprocess.run([sys.executable, "-m", "assistant", "feedback", "stats"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("error: The conversation database (DATA_DIR/conversations.db) is damaged")
    assert "Traceback" not in result.stderr and str(data) not in result.stderr
    assert (data / "conversations.db").read_bytes() == b"garbage" * 1000


# --- the PostgreSQL the tests start leaves nothing running ------------------------------------------
def test_postgres_cluster_stops_on_every_exit_path():
    cluster = PostgresCluster()
    with pytest.raises(RuntimeError, match="a test failed"):
        with cluster:
            url = cluster.create_database("t")
            with ConversationStore.open(url) as store:  # an open client, a transaction left open
                store.create("alice")
                conn = store.engine.connect()
                conn.exec_driver_sql("SELECT 1")
                pids = cluster.pids()
                assert len(pids) >= 2  # the postmaster and at least one backend
                raise RuntimeError("a test failed")
    assert cluster.pids() == []
    conn.invalidate()  # the client's side of the connection the shutdown ended
    assert not any(Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
                   for pid in pids)
    assert not cluster.dir.exists()
