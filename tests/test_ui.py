"""Web UI handlers, rendering and launch policy, without a browser (ui/app.py).

Handlers run against a real Assistant over a tmp index (the `stack` fixture in tests/conftest.py) and a
FakeLLM over HTTP; the served-app checks use the real app on a loopback port.
"""

from __future__ import annotations

import logging
import os
import re
import sys

import httpx
import pytest
from pydantic import SecretStr

from assistant import Answer, Assistant, Citation, Passage
from assistant.config import PROJECT_DIR
from assistant.errors import InputError
from assistant.server.app import serve as main
from assistant.store import Store
from tests.conftest import make_settings, wait_for_http
from tests.gradio_session import RunningApp, free_port
from ui.app import create_app, launch_options
from ui.handlers import GENERIC_ERROR, ChatUI, RateLimiter, Session
from ui.render import highlight, render_answer, render_draft, render_error, render_sources
from ui.security import SameOriginGuard

PAYLOADS = ('<script>window.__xss=1</script>', '<img src=x onerror="window.__xss=1">', '<svg onload="window.__xss=1">',
            '[x](javascript:window.__xss=1)', '![](http://attacker.invalid/?q=1)', '${window.__xss=1}', '{{constructor}}')
ALLOWED_TAGS = {"div", "sup", "ul", "li", "mark", "span", "b", "h3", "details", "summary", "p"}


def ask(ui: ChatUI, question: str, session: Session | None = None, client: str = "test", owner: str | None = None) -> list[tuple]:
    """All updates of one streamed answer (stored in `owner`'s chat when given)."""
    return list(ui.respond(question, session if session is not None else Session(), client, owner=owner))


def last_message(updates: list[tuple]) -> str:
    return updates[-1][0][-1]["content"]


def assert_inert(fragment: str) -> None:
    """Only our own tags; no link, image, script, handler or Markdown syntax survives."""
    assert set(re.findall(r"<\s*([a-zA-Z][\w-]*)", fragment)) <= ALLOWED_TAGS, fragment
    for needle in ("<script", "<img", "<svg", "href", "](", "![", "${", "{{"):
        assert needle not in fragment, needle


# --- streaming and the verified answer ----------------------------------------------------------
def test_stream_shows_draft_then_replaces_it_with_verified_answer(stack):
    ui = ChatUI(stack.assistant, stack.settings)
    question = "What is a variational autoencoder?"
    updates = ask(ui, question)
    drafts = [u for u in updates[:-1] if "ga-draft" in last_message([u])]
    assert len(drafts) >= 2, "the draft should be shown and updated while the model streams"
    assert any("Variational" in last_message([d]) for d in drafts)
    messages, sources, session, _ = updates[-1]
    final = messages[-1]["content"]
    assert messages[0] == {"role": "user", "content": '<div class="ga-user">What is a variational autoencoder?</div>'}
    assert "ga-draft" not in final and "ga-generated" in final
    assert '<sup class="ga-cite" title="Variational Autoencoders (VAEs)">&#91;1&#93;</sup>' in final
    assert "<mark>Variational Autoencoders (VAEs): A type of generative model" in sources
    assert session.history[0] == ("user", question) and session.history[1][0] == "assistant"
    assert "[1]" in session.history[1][1]  # the verified text, not HTML, feeds follow-ups


def test_follow_up_shows_the_standalone_query(stack):
    ui = ChatUI(stack.assistant, stack.settings)
    session = Session()
    ask(ui, "What is Whisper?", session)
    final = last_message(ask(ui, "Who made it?", session))
    assert "Searched for: Who made Whisper?" in final
    assert len(session.messages) == 4


def test_structured_answer_lists_every_row_with_citations(stack):
    ui = ChatUI(stack.assistant, stack.settings)
    messages, sources, _, _ = ask(ui, "Which models did NVIDIA create?")[-1]
    final = messages[-1]["content"]
    assert "ga-structured" in final and final.count("<li>") >= 3
    assert sources.count('class="ga-source"') >= 3


def test_a_composed_definition_is_labelled_as_built_from_the_entries(stack, tmp_path):
    """A definition composed from the glossary is no table lookup: its label says what it is."""
    assistant, settings = stack.private_assistant(tmp_path / "data", compose_answers=True)
    try:
        messages, _, _, _ = ask(ChatUI(assistant, settings), "What is a variational autoencoder?")[-1]
        final = messages[-1]["content"]
        assert "ga-structured" in final and "Composed from the article" in final and "model table" not in final
    finally:
        assistant.close()


def test_second_question_while_streaming_waits_its_turn(stack):
    ui = ChatUI(stack.assistant, stack.settings)
    session = Session()
    first = ui.respond("What is a variational autoencoder?", session, "test")
    next(first)  # streaming has started
    busy = ask(ui, "Who created Whisper?", session)
    assert "Still answering your previous question" in last_message(busy)
    list(first)
    contents = [m["content"] for m in session.messages]
    assert len(contents) == 3 and "ga-generated" in contents[1] and "Still answering" in contents[2]
    abandoned = ui.respond("Who created Whisper?", session, "test")
    next(abandoned)
    abandoned.close()  # the browser went away mid-answer
    assert session.busy is False


# --- refusals, extractive answers, notices -----------------------------------------------------
def test_out_of_scope_question_is_a_styled_refusal(stack):
    ui = ChatUI(stack.assistant, stack.settings)
    messages, sources, _, _ = ask(ui, "How tall is the Eiffel Tower?")[-1]
    final = messages[-1]["content"]
    assert 'class="ga-answer ga-refused"' in final and "Not in the sources" in final
    assert "closest entries" in final.lower()
    assert "Closest passages" in sources and "<mark>" not in sources


def test_unverifiable_model_answer_is_labelled_extractive(stack):
    stack.fake.set_mode("ok", reply="Pizza with pineapple is the best topping [1]. <img src=x onerror=alert(1)> [9]")
    ui = ChatUI(stack.assistant, stack.settings)
    final = last_message(ask(ui, "What is a variational autoencoder?"))
    assert "ga-extractive" in final
    assert "Quoted from the sources — the model&#x27;s answer could not be verified" in final
    assert "Removed as unsupported" in final and "Pizza with pineapple" in final
    assert_inert(final)


def test_render_answer_shows_notice_incomplete_and_searched_for():
    answer = Answer(text="A VAE encodes data [1].\n- one [1]\n- two", query="What is a VAE? (about VAE)",
                    incomplete=True, notice="LLM unavailable at http://127.0.0.1:9/v1: nothing answers there.",
                    citations=[Citation(1, "vae", "VAE", "A VAE encodes data.", "A VAE encodes data.", "glossary")])
    html = render_answer(answer, "What is a VAE?")
    assert "Searched for: What is a VAE? (about VAE)" in html
    assert "cut off" in html and "LLM unavailable at http://127.0.0.1:9/v1" in html
    assert "<ul><li>one " in html and "<li>two</li></ul>" in html
    assert "Searched for" not in render_answer(answer, "what is a vae?  (ABOUT vae)")


# --- escaping (S1, S2) -------------------------------------------------------------------------
def test_S1_source_panel_escapes_documents_and_highlights_the_quote():
    evil = " ".join(PAYLOADS)
    passage = f"Intro {evil}. A VAE encodes data into a “latent” space.\nTail {evil}"
    cite = Citation(1, "doc", f"Title {PAYLOADS[1]}", 'A VAE encodes data into a "latent" space.', passage, "file:x",
                    f"Section {PAYLOADS[0]}")
    answer = Answer(text=f"A VAE encodes data into a latent space [1]. {evil}", citations=[cite],
                    passages=[Passage("doc", f"Title {PAYLOADS[2]}", "file", passage, 1.0, "file:x"),
                              Passage("other", f"Other {PAYLOADS[3]}", "file", evil, 0.5, "file:y")],
                    unsupported=[evil], notice=evil, query=evil)
    sources = render_sources(answer)
    assert "<mark>A VAE encodes data into a “latent” space.</mark>" in sources
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in sources  # shown as text, not run
    for fragment in (sources, render_answer(answer, "q"), render_draft(evil), render_error(evil),
                     render_sources(Answer(text="", refused=True, passages=answer.passages))):
        assert_inert(fragment)


def test_highlight_tolerates_whitespace_and_case_and_ignores_missing_quotes():
    assert highlight("One.  Two\nthree <b>.", ["two THREE"]) == "One.  <mark>Two\nthree</mark> &lt;b&gt;."
    assert highlight("One. Two.", ["absent"]) == "One. Two."


# --- feedback (stored on every answer; tests/test_conversations_ui.py has the rest) ----------------
def test_feedback_goes_to_the_conversation_store(stack, tmp_path):
    settings = stack.settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'chats.db'}"})
    ui = ChatUI(stack.assistant, settings)
    session = Session()
    assert "Ask a question first" in ui.vote("up", session, owner="browser:" + "a" * 32)
    ask(ui, "What is a variational autoencoder?", session, owner="browser:" + "a" * 32)
    assert "saved" in ui.vote("up", session, owner="browser:" + "a" * 32)
    assert "already" in ui.vote("up", session, owner="browser:" + "a" * 32)
    assert "saved" in ui.vote("down", session, owner="browser:" + "a" * 32)
    stored = ui.conversations.get().get("browser:" + "a" * 32, session.conversation_id).messages
    assert [m.role for m in stored] == ["user", "assistant"] and stored[1].feedback.vote == "down"
    assert stored[0].text == "What is a variational autoencoder?" and "[1]" in stored[1].text
    assert stored[1].answer.citations[0].title == "Variational Autoencoders (VAEs)" and stored[1].answer.citations[0].quote
    assert not (settings.data_dir / "feedback.jsonl").exists()


# --- errors (B1, B2, F1, S4) ---------------------------------------------------------------------
def test_empty_question_gets_one_clear_sentence_and_no_llm_call(stack):
    ui = ChatUI(stack.assistant, stack.settings)
    messages, sources, _, _ = ask(ui, "   \n\t")[-1]
    assert len(messages) == 1 and "ga-error" in messages[0]["content"]
    assert "The question is empty" in messages[0]["content"]
    assert stack.fake.attempts == 0


def test_too_long_question_is_rejected_before_the_llm(stack):
    ui = ChatUI(stack.assistant, stack.settings)
    final = last_message(ask(ui, "x" * 100_000))
    assert "ga-error" in final and "limit" in final and "Traceback" not in final
    assert stack.fake.attempts == 0


@pytest.mark.parametrize("status", [500, 503])
def test_llm_error_is_a_clear_note_and_the_next_question_works(stack, status):
    stack.fake.set_mode("status", status=status)
    ui = ChatUI(stack.assistant, stack.settings)
    session = Session()
    final = last_message(ask(ui, "What is a variational autoencoder?", session))
    assert f"returned an error ({status})" in final and "ga-extractive" in final
    stack.reset_llm()
    final = last_message(ask(ui, "How do diffusion models generate images?", session))
    assert "ga-generated" in final and "ga-notice" not in final


def test_empty_index_gives_a_clear_message(stack, tmp_path):
    settings = make_settings(tmp_path, stack.fake.url)
    empty = Assistant(settings, Store(settings.chroma_path, "", settings.chroma_collection), stack.assistant.embed_model)
    ui = ChatUI(empty, settings)
    assert "Index: 0 passages" in ui.status()
    final = last_message(ask(ui, "What is a VAE?"))
    assert "ga-error" in final and "index is empty" in final


class _Flaky:
    """Delegates to the real assistant, but the first stream raises like a bug would."""

    def __init__(self, real, error: Exception):
        self.real, self.error, self.index_size = real, error, real.index_size

    def stream(self, question, history):
        if self.error:
            error, self.error = self.error, None
            raise error
        return self.real.stream(question, history)


def test_unexpected_error_is_logged_not_shown_and_the_app_recovers(stack, caplog):
    ui = ChatUI(_Flaky(stack.assistant, RuntimeError("boom at /srv/secret/path sk-live-123")), stack.settings)
    session = Session()
    with caplog.at_level(logging.ERROR, logger="ui.app"):
        final = last_message(ask(ui, "What is a VAE?", session))
    assert GENERIC_ERROR.replace("'", "&#x27;") in final
    assert "boom" not in final and "sk-live" not in final and "Traceback" not in final
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)
    assert "ga-generated" in last_message(ask(ui, "What is a variational autoencoder?", session))


def test_api_key_never_reaches_the_page(stack):
    settings = stack.settings.model_copy(update={"llm_api_key": SecretStr("sk-SECRET-42")})
    ui = ChatUI(_Flaky(stack.assistant, InputError("bad key sk-SECRET-42 in request")), settings)
    final = last_message(ask(ui, "What is a VAE?"))
    assert "sk-SECRET-42" not in final and "***" in final
    assert "sk-SECRET-42" not in ui.status()


# --- load: rate limit and queue (L1, L4) ---------------------------------------------------------
def test_L4_rate_limit_per_client_has_a_clear_message(stack):
    settings = stack.settings.model_copy(update={"ui_rate_limit": 2})
    ui = ChatUI(stack.assistant, settings)
    for _ in range(2):
        assert "ga-error" not in last_message(ask(ui, "Who created Whisper?", client="10.0.0.1"))
    attempts = stack.fake.attempts
    final = last_message(ask(ui, "Who created Whisper?", client="10.0.0.1"))
    assert "ga-error" in final and "2 questions in the last minute" in final
    assert stack.fake.attempts == attempts
    assert "ga-error" not in last_message(ask(ui, "Who created Whisper?", client="10.0.0.2"))


def test_L4_rate_limiter_window_slides():
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")
    now[0] = 59.9
    assert not limiter.allow("a")
    now[0] = 60.0
    assert limiter.allow("a")
    assert RateLimiter(0).allow("a")


def test_L1_queue_is_bounded_by_settings(stack):
    settings = stack.settings.model_copy(update={"ui_concurrency": 3, "ui_max_queue": 7})
    demo = create_app(stack.assistant, settings)
    assert demo._queue.max_size == 7 and demo._queue.default_concurrency_limit == 3
    assert demo.analytics_enabled is False


# --- exposure (S5, S6, S7) -----------------------------------------------------------------------
def test_S7_non_loopback_without_auth_refuses_to_start(tmp_path, capsys):
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1", ui_host="0.0.0.0")
    assert main(settings) == 2
    err = capsys.readouterr().err
    assert "UI_AUTH" in err and "0.0.0.0" in err and "Traceback" not in err
    assert not (tmp_path / "chroma").exists()  # refused before opening anything
    assert main(make_settings(tmp_path, "http://127.0.0.1:9/v1", ui_auth="nopassword")) == 2


def test_S7_launch_options_bind_loopback_without_share_and_require_auth_elsewhere(tmp_path):
    options = launch_options(make_settings(tmp_path, "http://127.0.0.1:9/v1"))
    assert options["server_name"] == "127.0.0.1" and options["share"] is False and options["auth"] is None
    assert "allowed_paths" not in options and str(tmp_path.resolve()) in options["blocked_paths"]
    for host in ("localhost", "::1", "127.0.0.2"):
        assert launch_options(make_settings(tmp_path, "x", ui_host=host))["auth"] is None
    remote = launch_options(make_settings(tmp_path, "x", ui_host="0.0.0.0", ui_auth="alice:pw, bob:p:w"))
    assert remote["auth"] == [("alice", "pw"), ("bob", "p:w")] and remote["server_name"] == "0.0.0.0"


def test_S5_served_app_does_not_serve_files_or_accept_foreign_posts(stack):
    with RunningApp(stack.assistant, stack.settings) as app:
        base = app.url.rstrip("/")
        assert httpx.get(base + "/").status_code == 200
        targets = ["/etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
                   f"{stack.settings.chroma_path}/chroma.sqlite3", f"{PROJECT_DIR}/.env", f"{PROJECT_DIR}/pyproject.toml",
                   "http://attacker.invalid/x"]
        for target in targets:
            for prefix in ("/gradio_api/file=", "/file="):
                reply = httpx.get(base + prefix + target, follow_redirects=False)
                assert reply.status_code in (403, 404), (prefix + target, reply.status_code)
                assert b"root:" not in reply.content and "location" not in reply.headers
        upload = {"files": ("a.txt", b"hi")}
        assert httpx.post(base + "/gradio_api/upload", files=upload, headers={"Origin": "http://evil.example"}).status_code == 403
        assert httpx.post(base + "/gradio_api/upload", files=upload).status_code == 403  # unused route is closed
        foreign = httpx.post(base + "/gradio_api/queue/join", json={}, headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        same = httpx.post(base + "/gradio_api/queue/join", json={}, headers={"Origin": base})
        assert same.status_code != 403


def test_S7_served_app_with_auth_requires_login(stack):
    settings = stack.settings.model_copy(update={"ui_auth": SecretStr("alice:pw")})
    with RunningApp(stack.assistant, settings) as app:
        base = app.url.rstrip("/")
        assert httpx.get(base + "/config").status_code == 401
        assert httpx.post(base + "/login", data={"username": "alice", "password": "nope"}).status_code >= 400
        with httpx.Client() as client:
            assert client.post(base + "/login", data={"username": "alice", "password": "pw"}).status_code == 200
            assert client.get(base + "/config").status_code == 200


def test_S6_same_origin_guard_rules():
    def scope(method="POST", origin=None, host="127.0.0.1:7860", path="/gradio_api/queue/join", kind="http"):
        headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
        return {"type": kind, "method": method, "path": path, "headers": headers}

    assert SameOriginGuard.allowed(scope(origin="http://127.0.0.1:7860"))
    assert SameOriginGuard.allowed(scope())  # non-browser client
    assert SameOriginGuard.allowed(scope("GET"))  # the page's own GETs carry no Origin
    assert SameOriginGuard.allowed(scope("GET", origin="http://127.0.0.1:7860"))
    assert not SameOriginGuard.allowed(scope("GET", origin="http://evil.example"))  # a foreign page's fetch()
    assert not SameOriginGuard.allowed(scope("OPTIONS", origin="http://localhost:3000"))  # its preflight
    assert not SameOriginGuard.allowed(scope(origin="http://evil.example"))
    assert not SameOriginGuard.allowed(scope(origin="null"))
    assert not SameOriginGuard.allowed(scope(kind="websocket", origin="http://evil.example"))
    assert not SameOriginGuard.allowed(scope(path="/gradio_api/upload"))


def test_importing_assistant_and_ui_does_not_import_gradio():
    import subprocess

    code = "import assistant, ui, ui.app, sys; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_DIR, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_cli_ui_opens_the_index_and_serves_on_loopback(stack):
    """`python -m assistant ui` (ui.app.main) prints its progress and serves the app; Ctrl-C stops it."""
    import signal
    import subprocess

    port = free_port()
    env = {**os.environ, "DATA_DIR": str(stack.settings.data_dir), "LLM_PROVIDER": "openai_compatible",
           "LLM_BASE_URL": stack.fake.url, "LLM_MODEL": "fake", "UI_PORT": str(port), "UI_HOST": "127.0.0.1",
           "UI_AUTH": "", "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "ui"], cwd=PROJECT_DIR, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", proc, 90)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert "opening the index…" in out and "building the index" not in out
    assert f"connecting to the LLM at {stack.fake.url}" in out
    assert f"serving at http://127.0.0.1:{port}: UI /" in out
    assert "Traceback" not in out and "share=True" not in out
