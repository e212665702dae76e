"""Stored chats in the web UI (ui/handlers.py, ui/chats.py, ui/app.py): each verified answer is stored
with its question; the list opens, renames, deletes and exports the owner's chats; feedback goes on
every answer; one owner never reaches another's chat (S16); and a failing database leaves the chat
answering, with a visible warning (F18, F19).

Handlers run against the real Assistant and FakeLLM of the `stack` fixture, with a conversation
database of their own; the served app is driven over Gradio's HTTP protocol (tests/gradio_session.py).
The browser test is in tests/test_browser.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from assistant.conversations import ConversationStore, StoreAccess
from tests.gradio_session import GradioSession, RunningApp, choices, cite_first_passage
from tests.test_conversations_reliability import immutable
from ui.chats import GONE, Chats
from ui.handlers import NO_ANSWER, NOT_AN_ANSWER, NOT_SAVED, RATE_FIRST, ChatUI, Session, owner_of
from ui.render import NO_SOURCES

ALICE, BOB = "browser:" + "a" * 32, "browser:" + "b" * 32
VAE, WHISPER = "What is a variational autoencoder?", "What is Whisper?"


@pytest.fixture
def settings(stack, tmp_path):
    """The stack's settings with a conversation database of the test's own."""
    return stack.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'chats.db'}"})


@pytest.fixture
def ui(stack, settings):
    chat_ui = ChatUI(stack.assistant, settings)
    yield chat_ui
    chat_ui.conversations.close()


def ask(ui: ChatUI, question: str, session: Session, owner: str | None = ALICE) -> tuple:
    """The last update of one streamed answer."""
    return list(ui.respond(question, session, "test", owner=owner))[-1]


def stored(ui: ChatUI, owner: str, chat_id: str):
    return ui.conversations.get().get(owner, chat_id)


# --- owners ----------------------------------------------------------------------------------------------
def test_owner_is_the_login_or_the_id_the_browser_keeps():
    session = Session()
    assert owner_of("alice", "a" * 32, session) == "user:alice"  # UI_AUTH: the login, whatever the browser holds
    assert owner_of(None, "a" * 32, session) == ALICE and session.browser == "a" * 32
    assert owner_of(None, None, Session()) is None
    for forged in ("local", "key:0123456789abcdef", "A" * 32, "a" * 31, "a" * 32 + "\n", 42, {"x": 1}):
        assert owner_of(None, forged, None) is None  # only a well-formed random id names a browser's chats
    fresh = Session()
    made = owner_of(None, None, fresh, create=True)
    assert made == f"browser:{fresh.browser}" and len(fresh.browser) == 32
    assert owner_of(None, None, fresh) == made  # the session remembers it until the browser sends it back


# --- storing and reopening ---------------------------------------------------------------------------------
def test_the_verified_answer_is_stored_never_the_draft(ui, stack):
    stack.fake.set_mode("slow_stream", delay_per_chunk=0.05, reply_fn=cite_first_passage)
    session = Session()
    updates = list(ui.respond(VAE, session, "test", owner=ALICE))
    assert any("ga-draft" in u[0][-1]["content"] for u in updates[:-1])
    messages, sources, _, _ = updates[-1]
    chat = stored(ui, ALICE, session.conversation_id)
    question, answer = chat.messages
    assert (question.role, question.text, chat.title) == ("user", VAE, VAE)
    assert answer.id == session.ids[-1] and session.ids[0] is None
    assert answer.text == answer.answer.text and "[1]" in answer.text and "Draft" not in answer.text
    assert answer.answer.citations[0].quote in answer.answer.citations[0].passage_text
    assert sources == session.sources and "<mark>" in sources and session.warning == ""


def test_rejected_and_failed_questions_are_not_stored(ui, stack):
    session = Session()
    ask(ui, "x" * 100_000, session)  # too long (L7)
    ask(ui, "   ", session)  # empty (B1)
    stack.fake.set_mode("status", status=500)
    ask(ui, VAE, session)  # an extractive answer when the LLM fails is still an answer: it is stored
    assert session.conversation_id is not None
    assert [m.role for m in stored(ui, ALICE, session.conversation_id).messages] == ["user", "assistant"]


def test_a_reopened_chat_has_its_messages_sources_and_follow_up_context(stack, settings):
    first = ChatUI(stack.assistant, settings)
    session = Session()
    ask(first, VAE, session)
    shown = ask(first, WHISPER, session)
    first.conversations.close()
    restarted = ChatUI(stack.assistant, settings)  # a new process over the same database
    chats = Chats(restarted)
    reopened = Session()
    assert chats.listing(ALICE, reopened).choices == [(VAE, session.conversation_id)]
    assert chats.open(ALICE, reopened, session.conversation_id) == ""
    assert reopened.messages == shown[0] and reopened.sources == shown[1] == session.sources
    assert reopened.ids == session.ids and reopened.history == session.history
    follow_up = ask(restarted, "Who made it?", reopened)
    assert "Searched for: Who made Whisper?" in follow_up[0][-1]["content"]
    assert len(stored(restarted, ALICE, session.conversation_id).messages) == 6
    restarted.conversations.close()


def test_the_list_is_newest_first_and_new_rename_delete_work(ui):
    chats = Chats(ui)
    one, two = Session(), Session()
    ask(ui, VAE, one)
    ask(ui, WHISPER, two)
    assert [label for label, _ in chats.listing(ALICE, two).choices] == [WHISPER, VAE]
    ask(ui, "What is a GAN?", one)  # the chat answered last comes first
    listing = chats.listing(ALICE, one)
    assert [label for label, _ in listing.choices] == [VAE, WHISPER] and listing.selected == one.conversation_id
    assert chats.rename(ALICE, one, "  VAEs\nand GANs ") == "Renamed." and one.title == "VAEs and GANs"
    assert "cannot be empty" in chats.rename(ALICE, one, "   ")
    assert chats.listing(ALICE, one).choices[0][0] == "VAEs and GANs"
    gone = one.conversation_id
    assert chats.delete(ALICE, one) == "Chat deleted."
    assert one.conversation_id is None and one.messages == [] and one.sources == NO_SOURCES
    assert [label for label, _ in chats.listing(ALICE, one).choices] == [WHISPER]
    assert chats.open(ALICE, one, gone) == GONE
    ask(ui, "What is a GAN?", two)
    assert chats.new(two) == "" and two.conversation_id is None and two.history == []
    ask(ui, VAE, two)  # a new chat is stored with its first answer
    assert len(chats.listing(ALICE, two).choices) == 2


def test_a_chat_deleted_in_another_tab_goes_on_as_a_new_chat(ui):
    tab, other = Session(), Session()
    ask(ui, VAE, tab)
    Chats(ui).open(ALICE, other, tab.conversation_id)
    Chats(ui).delete(ALICE, other)
    ask(ui, WHISPER, tab)
    assert tab.warning == "" and len(stored(ui, ALICE, tab.conversation_id).messages) == 2


def test_busy_session_is_not_switched_mid_answer(ui):
    session = Session()
    stream = ui.respond(VAE, session, "test", owner=ALICE)
    next(stream)
    chats = Chats(ui)
    notes = {chats.new(session), chats.delete(ALICE, session), chats.open(ALICE, session, "x")}
    assert notes == {"Wait for the answer to finish first."}
    list(stream)
    assert session.conversation_id is not None


def test_exports_are_files_outside_data_dir_with_citations_quotes_and_feedback(ui, settings, tmp_path):
    chats = Chats(ui, tmp_path / "exports")
    session = Session()
    assert chats.exports(ALICE, session).markdown is None  # nothing to export before the first answer
    ask(ui, VAE, session)
    ui.vote("down", session, "test", ALICE)
    ui.feedback(session, "test", ALICE, "wrong_fact", "too short")
    files = chats.exports(ALICE, session)
    assert files.markdown is not None and files.json is not None
    assert files.markdown.name == "what-is-a-variational-autoencoder.md" and tmp_path / "exports" in files.markdown.parents
    assert settings.data_dir not in files.markdown.parents
    markdown = files.markdown.read_text(encoding="utf-8")
    assert "> What is a variational autoencoder?" in markdown and "**Sources**" in markdown
    assert "Variational Autoencoders (VAEs)" in markdown and "👎 — wrong fact" in markdown
    document = json.loads(files.json.read_text(encoding="utf-8"))
    assert document["id"] == session.conversation_id and "owner" not in json.dumps(document)
    assert document["messages"][1]["feedback"] == {**document["messages"][1]["feedback"], "vote": "down",
                                                   "reason": "wrong_fact", "text": "too short"}
    Chats(ui, tmp_path / "exports").delete(ALICE, session)
    assert not (tmp_path / "exports" / document["id"]).exists()


# --- feedback on every answer ------------------------------------------------------------------------------
def test_feedback_on_every_answer_with_a_reason_and_text(ui):
    session = Session()
    assert ui.vote("up", session, "test", ALICE) == NO_ANSWER
    ask(ui, VAE, session)
    ask(ui, WHISPER, session)
    assert ui.feedback(session, "test", ALICE, "wrong fact", "x") == RATE_FIRST
    assert ui.vote("down", session, "test", ALICE, index=0) == NOT_AN_ANSWER  # a question
    assert ui.vote("down", session, "test", ALICE, index=9) == NOT_AN_ANSWER
    assert "feedback saved (👎)" in ui.vote("down", session, "test", ALICE, index=1)  # the earlier answer
    assert ui.feedback(session, "test", ALICE, None, "  ") == "Choose a reason or write a comment, then send it."
    assert "Unknown feedback reason" in ui.feedback(session, "test", ALICE, "because", "")
    assert ui.feedback(session, "test", ALICE, "wrong fact", "The VAE answer cites the wrong section.") == \
        "Thanks — your feedback was saved."
    assert "feedback saved (👍)" in ui.vote("up", session, "test", ALICE, index=3)
    assert "already recorded" in ui.vote("up", session, "test", ALICE, index=3)
    first, second = stored(ui, ALICE, session.conversation_id).messages[1::2]
    assert (first.feedback.vote, first.feedback.reason, first.feedback.text) == (
        "down", "wrong_fact", "The VAE answer cites the wrong section.")
    assert (second.feedback.vote, second.feedback.reason) == ("up", None)
    ui.feedback(session, "test", ALICE, "other", "changed my mind")  # about the answer rated last
    assert stored(ui, ALICE, session.conversation_id).messages[3].feedback.text == "changed my mind"
    reopened = Session()
    Chats(ui).open(ALICE, reopened, session.conversation_id)
    assert reopened.votes == {first.id: "down", second.id: "up"}


def test_an_answer_that_was_not_stored_cannot_be_rated(ui):
    session = Session()
    ask(ui, VAE, session, owner=None)  # no owner yet: answered, not stored
    assert session.conversation_id is None and ui.vote("up", session, "test", None) == NOT_SAVED


# --- S16 ownership through the handlers ---------------------------------------------------------------------
def test_S16_one_owner_never_reaches_anothers_chat_through_the_ui_handlers(ui, tmp_path):
    chats = Chats(ui, tmp_path / "exports")
    alice = Session()
    ask(ui, VAE, alice, owner=ALICE)
    ui.vote("up", alice, "test", ALICE)
    target = alice.conversation_id
    bob = Session()
    assert chats.listing(BOB, bob).choices == []
    assert chats.open(BOB, bob, target) == GONE and bob.messages == []
    forged = Session(conversation_id=target, messages=list(alice.messages), ids=list(alice.ids), votes={}, target=alice.ids[1])
    assert chats.exports(BOB, forged).markdown is None
    assert chats.rename(BOB, forged, "mine now") == GONE
    forged = Session(conversation_id=target, messages=list(alice.messages), ids=list(alice.ids))
    assert "not found" in ui.vote("down", forged, "test", BOB, index=1)
    assert chats.delete(BOB, Session(conversation_id=target)) == "Chat deleted."  # nothing of Bob's was there
    ask(ui, "What is a GAN?", Session(conversation_id=target), owner=BOB)  # goes to a new chat of Bob's
    chat = stored(ui, ALICE, target)
    assert chat.title == VAE and len(chat.messages) == 2 and chat.messages[1].feedback.vote == "up"
    assert [label for label, _ in chats.listing(BOB, bob).choices] == ["What is a GAN?"]
    assert [label for label, _ in chats.listing(ALICE, alice).choices] == [VAE]


# --- F18, F19: a failing database leaves the chat answering, with a visible warning -------------------------
def test_F19_corrupt_database_file_the_chat_answers_with_a_warning_and_the_file_is_untouched(stack, tmp_path):
    path = tmp_path / "chats.db"
    path.write_bytes(b"this is not a database " * 200)
    before = path.read_bytes()
    ui = ChatUI(stack.assistant, stack.settings.model_copy(update={"database_url": f"sqlite:///{path}"}))
    session = Session()
    messages, sources, _, _ = ask(ui, VAE, session)
    assert "ga-generated" in messages[-1]["content"] and "<mark>" in sources  # answered, with its sources
    assert "is damaged or is not a database" in session.warning and "move the file aside" in session.warning
    assert "Traceback" not in session.warning and str(tmp_path) not in session.warning
    assert Chats(ui).listing(ALICE, session).choices == [] and "damaged" in session.warning
    assert ui.vote("up", session, "test", ALICE) == NOT_SAVED
    assert path.read_bytes() == before and not Path(f"{path}-wal").exists()


def test_F18_locked_database_the_chat_answers_with_a_warning_then_recovers(stack, tmp_path):
    path = tmp_path / "chats.db"
    ConversationStore.open(f"sqlite:///{path}").close()
    settings = stack.settings.model_copy(update={"database_url": f"sqlite:///{path}", "database_timeout": 0.5})
    ui = ChatUI(stack.assistant, settings)
    session = Session()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    try:
        messages, _, _, _ = ask(ui, VAE, session)
        assert "ga-generated" in messages[-1]["content"]
        assert "is locked by another program" in session.warning and "not being saved" in session.warning
    finally:
        other.execute("ROLLBACK")
        other.close()
    ask(ui, WHISPER, session)
    assert session.warning == "" and [m.text for m in stored(ui, ALICE, session.conversation_id).messages][::2] == [WHISPER]
    ui.conversations.close()


def test_F18_unwritable_database_the_chat_answers_with_a_warning(stack, tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    path = folder / "chats.db"
    ConversationStore.open(f"sqlite:///{path}").close()
    ui = ChatUI(stack.assistant, stack.settings.model_copy(update={"database_url": f"sqlite:///{path}"}))
    session = Session()
    with immutable(path, folder):
        messages, _, _, _ = ask(ui, VAE, session)
        assert "ga-generated" in messages[-1]["content"]
        assert "not writable" in session.warning or "not being saved" in session.warning, session.warning
    ui.conversations.close()


def test_F18_store_that_cannot_be_opened_is_tried_again_later(stack, tmp_path):
    path = tmp_path / "chats.db"
    path.write_bytes(b"garbage" * 100)
    now = [0.0]
    access = StoreAccess(stack.settings.model_copy(update={"database_url": f"sqlite:///{path}"}), clock=lambda: now[0])
    ui = ChatUI(stack.assistant, stack.settings, access)
    session = Session()
    ask(ui, VAE, session)
    assert "damaged" in session.warning
    path.unlink()  # the fix the message names: the file moved aside
    ask(ui, VAE, session)
    assert "damaged" in session.warning  # not retried at once
    now[0] = 60.0
    ask(ui, WHISPER, session)
    assert session.warning == "" and len(stored(ui, ALICE, session.conversation_id).messages) == 2
    access.close()


# --- the served app, over Gradio's HTTP protocol -------------------------------------------------------------
def test_chats_over_the_page_protocol_survive_a_restart_and_stay_with_their_browser(stack):
    """`make run`'s default store (DATA_DIR/conversations.db): a chat is listed again for the same browser id
    after the app restarts, and for no other browser."""
    with RunningApp(stack.assistant, stack.settings) as app:
        with GradioSession(app.url, timeout=60) as tab:
            first = tab.ask(VAE)
            assert first.ok and "ga-generated" in first.last
            final = first.messages[-1]["output"]["data"]
            assert choices(final[4]) == [(VAE, tab.chats()[0][1])]
            markdown = final[7]["value"]  # the export buttons hold the chat's files, served by Gradio
            assert markdown["orig_name"] == "what-is-a-variational-autoencoder.md" and final[7]["interactive"] is True
            served = tab.http.get(markdown["url"])
            assert served.status_code == 200 and "**Sources**" in served.text
            browser, chat_id = tab.browser, tab.chats()[0][1]
    with RunningApp(stack.assistant, stack.settings) as app, GradioSession(app.url, timeout=60, browser=browser) as again:
        assert again.chats() == [(VAE, chat_id)]
        opened = again.open_chat(chat_id)
        assert opened.ok and "ga-generated" in opened.last and "<mark>" in opened.sources
        assert "Searched for: What is a variational autoencoder? (about" not in opened.last
        with GradioSession(app.url, timeout=60) as stranger:
            assert stranger.chats() == []
            refused = stranger.open_chat(chat_id)  # not in its list: Gradio refuses the choice, the handler the owner
            assert refused.chat == [] and "ga-generated" not in json.dumps(refused.data)
            assert "feedback saved" not in stranger.vote(1, True).data[0]


def test_S16_with_ui_auth_the_login_owns_the_chats_whatever_the_browser_sends(stack):
    settings = stack.settings.model_copy(update={"ui_auth": SecretStr("alice:pw-a,bob:pw-b")})
    with RunningApp(stack.assistant, settings) as app:
        def tab(user: str, password: str, browser: str) -> GradioSession:
            login = httpx.Client()
            assert login.post(app.url + "login", data={"username": user, "password": password}).status_code == 200
            config = login.get(app.url + "config").json()
            session = GradioSession(app.url, config, timeout=60, browser=browser)
            session.http.cookies.update(login.cookies)
            login.close()
            return session

        alice = tab("alice", "pw-a", "1" * 32)
        assert alice.ask(VAE).ok
        chat_id = alice.chats()[0][1]
        elsewhere = tab("alice", "pw-a", "2" * 32)  # alice on another browser: same chats
        assert elsewhere.chats() == [(VAE, chat_id)] and "ga-generated" in elsewhere.open_chat(chat_id).last
        bob = tab("bob", "pw-b", "1" * 32)  # bob with alice's browser id: none of hers
        assert bob.chats() == [] and bob.open_chat(chat_id).chat == []
        for session in (alice, elsewhere, bob):
            session.close()
    with ConversationStore.from_settings(settings) as store:
        assert [c.id for c in store.list("user:alice")] == [chat_id] and store.list("browser:" + "1" * 32) == []


def test_F19_the_page_shows_the_warning_and_keeps_answering(stack, tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"\x00garbage" * 512)
    settings = stack.settings.model_copy(update={"database_url": f"sqlite:///{path}"})
    with RunningApp(stack.assistant, settings) as app, GradioSession(app.url, timeout=60) as tab:
        event = tab.ask(VAE)
        assert event.ok and "ga-generated" in event.last
        warning = event.messages[-1]["output"]["data"][6]
        assert warning["visible"] is True and "ga-warning" in warning["value"] and "is damaged" in warning["value"]
        assert "Traceback" not in json.dumps(event.messages)
        assert tab.ask(WHISPER).ok  # and goes on
