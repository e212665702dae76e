"""The web UI in a real browser: Debian's Chromium driven by Playwright against the real app.

The app runs in a thread on a free loopback port over the shared test index, with the
FakeLLM as its model (the `app` and `stack` fixtures in tests/conftest.py). Screenshots go to test-output/screenshots/.
No browser is ever downloaded: without /usr/bin/chromium these tests fail with the fix.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.gradio_session import RunningApp, cite_first_passage, free_port, open_page

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
SCREENSHOT = SHOTS / "chat.png"  # the README's picture (docs/screenshot.png) is `make screenshot`, with the real model
FINAL = "#chat .ga-answer:not(.ga-draft)"
XSS_DOC = """# The Quibblefrost protocol

The Quibblefrost protocol is a made-up method for compressing latent codes in toy generative models.
<img src=x onerror="window.__xss=1"> <script>window.__xss=1</script>
[click me](javascript:window.__xss=1) ![tracker](http://attacker.invalid/?q=1)
<svg onload="window.__xss=1"></svg> ${window.__xss=1} {{constructor.constructor('window.__xss=1')()}}
"""


@pytest.fixture
def page(browser, app, stack):
    """A fresh page (= a fresh chat session) that records every request it makes."""
    yield from open_page(browser, app.url)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def ask(page, question: str, wait_draft: bool = False):
    """Type a question, send it, and return the final (verified) answer element."""
    before = page.locator(FINAL).count()
    page.fill("#question textarea", question)
    page.click("#send")
    if wait_draft:
        page.wait_for_selector("#chat .ga-draft")
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n"
                           " && !document.querySelector('#chat .ga-draft')", arg=[FINAL, before])
    return page.locator(FINAL).last


def external_requests(page) -> list[str]:
    return [u for u in page.requests if urlsplit(u).hostname not in ("127.0.0.1", "localhost") and not u.startswith("data:")]


def test_streamed_answer_has_citation_and_highlighted_source(page, stack):
    stack.fake.set_mode("slow_stream", delay_per_chunk=0.12, reply_fn=cite_first_passage)
    page.fill("#question textarea", "What is a variational autoencoder?")
    page.click("#send")
    draft = page.wait_for_selector("#chat .ga-draft")
    page.wait_for_function("() => (document.querySelector('#chat .ga-draft .ga-text')?.innerText || '').length > 20")
    assert "Draft" in draft.inner_text()
    shot(page, "streaming-draft")
    page.wait_for_selector(FINAL)
    page.wait_for_function("() => !document.querySelector('#chat .ga-draft')")
    answer = page.locator(FINAL).last
    assert "Variational Autoencoders" in answer.inner_text()
    assert answer.locator("sup.ga-cite").first.inner_text() == "[1]"
    mark = page.locator("#sources mark").first
    assert "Variational Autoencoders (VAEs)" in mark.inner_text()
    assert page.locator("#sources .ga-source-head").first.inner_text().startswith("[1]")
    assert external_requests(page) == []
    shot(page, "answer-with-sources")


def test_follow_up_shows_searched_for(page):
    ask(page, "What is Whisper?")
    answer = ask(page, "Who made it?")
    assert "Searched for: Who made Whisper?" in answer.inner_text()
    assert "OpenAI" in answer.inner_text()
    shot(page, "follow-up")


def test_out_of_scope_question_is_refused(page):
    answer = ask(page, "How tall is the Eiffel Tower?")
    assert "ga-refused" in answer.get_attribute("class")
    assert "Not in the sources" in answer.inner_text() and "closest entries" in answer.inner_text()
    assert "Closest passages" in page.locator("#sources").inner_text()
    assert page.locator("#sources mark").count() == 0
    shot(page, "refusal")


def test_S1_xss_payloads_in_a_document_and_the_model_reply_stay_inert(page, stack, tmp_path):
    doc = tmp_path / "quibblefrost.md"
    doc.write_text(XSS_DOC, encoding="utf-8")
    report = stack.assistant.ingest(paths=[doc], knowledge=False)
    assert not report.skipped, report.summary()
    # The model also echoes the payloads: they reach the draft, the unsupported list and the verified text.
    stack.fake.set_mode("ok", reply_fn=lambda body: cite_first_passage(body) + " " + " ".join(XSS_DOC.splitlines()[3:]))
    answer = ask(page, "What is the Quibblefrost protocol?")
    for summary in page.locator("#chat details summary").all():
        summary.click()
    for details in page.locator("#sources details summary").all():
        details.click()
    page.wait_for_timeout(500)
    assert "Quibblefrost" in answer.inner_text()
    sources = page.locator("#sources").inner_text()
    assert '<img src=x onerror="window.__xss=1">' in sources  # shown as text
    assert page.evaluate("typeof window.__xss") == "undefined"
    for scope in ("#chat", "#sources"):
        dangerous = f"{scope} img[src='x'], {scope} script, {scope} svg[onload], {scope} a[href^='javascript']"
        assert page.locator(dangerous).count() == 0
    assert not [u for u in page.requests if "attacker.invalid" in u]
    assert external_requests(page) == []
    shot(page, "xss-inert")


def test_llm_down_gives_a_clear_message_then_recovers(page, stack):
    stack.fake.set_mode("status", status=503)
    answer = ask(page, "What is a variational autoencoder?")
    text = answer.inner_text()
    assert "returned an error (503); try again later." in text
    assert "Quoted from the sources" in text and "Traceback" not in text
    shot(page, "llm-down")
    stack.reset_llm()
    answer = ask(page, "How do diffusion models generate images?")
    assert "ga-generated" in answer.get_attribute("class")
    assert answer.locator("sup.ga-cite").count() >= 1
    shot(page, "llm-recovered")


def test_example_question_feedback_and_empty_question(page, stack):
    page.click("#send")  # empty question
    page.wait_for_selector("#chat .ga-error")
    assert "The question is empty" in page.locator("#chat .ga-error").inner_text()
    page.get_by_role("button", name="Which models did NVIDIA create?").click()
    page.wait_for_selector("#chat .ga-structured")
    answer = page.locator("#chat .ga-structured").last
    assert answer.locator("li").count() >= 3 and "StyleGAN" in answer.inner_text()
    page.locator("#chat button[aria-label='Like']").last.click()
    page.wait_for_selector("#feedback-note :text('feedback saved (👍)')")
    with sqlite3.connect(stack.settings.data_dir / "conversations.db") as db:
        vote, text = db.execute("SELECT f.vote, m.text FROM feedback f JOIN messages m ON m.id = f.message_id "
                                "ORDER BY f.created_at DESC LIMIT 1").fetchone()
    assert vote == "up" and "StyleGAN" in text
    shot(page, "example-and-feedback")


# --- stored chats (docs/conversations.md) ------------------------------------------------------------------
def wait_ready(page) -> None:
    page.wait_for_selector("#question textarea")
    page.wait_for_selector("#status :text('passages')")


def listed(page) -> list[str]:
    return page.locator("#conversations label").all_inner_texts()


def open_listed(page, title: str, answers: int) -> None:
    page.locator("#conversations label", has_text=title).click()
    page.wait_for_function("n => document.querySelectorAll('#chat .ga-answer').length === n", arg=answers)


def download(page, button: str) -> tuple[str, str]:
    with page.expect_download() as started:
        page.click(button)
    return started.value.suggested_filename, Path(started.value.path()).read_text(encoding="utf-8")


def test_chats_survive_reload_and_restart_and_can_be_renamed_exported_rated_and_deleted(browser, stack):
    """`make run`'s defaults: chats in the SQLite file DATA_DIR/conversations.db, the owner a random id that
    the browser keeps. Also takes a picture of a chat, its answer with citations and the source panel, as served."""
    port = free_port()  # a restart serves on the same port: the page's origin, and so its localStorage, stay
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        with RunningApp(stack.assistant, stack.settings, port=port) as app:
            page.goto(app.url)
            wait_ready(page)
            assert listed(page) == [] and page.is_disabled("#export-md")
            answer = ask(page, "What is a variational autoencoder?")
            assert answer.locator("sup.ga-cite").first.inner_text() == "[1]"
            page.wait_for_selector("#conversations label:has-text('What is a variational autoencoder?')")
            assert "Variational Autoencoders (VAEs)" in page.locator("#sources mark").first.inner_text()
            answer = ask(page, "How do diffusion models generate images?")
            assert answer.locator("sup.ga-cite").count() >= 1 and page.locator("#sources mark").count() >= 1
            page.mouse.move(0, 0)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
            ask(page, "What is Whisper?")
            page.reload()
            wait_ready(page)
            page.wait_for_selector("#conversations label")
            assert listed(page) == ["What is a variational autoencoder?"]
            assert page.locator("#chat .ga-answer").count() == 0  # a reload shows a new chat; the stored one is listed
            open_listed(page, "What is a variational autoencoder?", 3)
            assert [u.inner_text() for u in page.locator("#chat .ga-user").all()] == [
                "What is a variational autoencoder?", "How do diffusion models generate images?", "What is Whisper?"]
            assert "Whisper" in page.locator("#sources .ga-source-head").first.inner_text()  # the last answer's sources
        with RunningApp(stack.assistant, stack.settings, port=port):  # a restart over the same DATA_DIR
            page.reload()
            wait_ready(page)
            page.wait_for_selector("#conversations label")
            open_listed(page, "What is a variational autoencoder?", 3)
            assert "Searched for: Who made Whisper?" in ask(page, "Who made it?").inner_text()  # the follow-up context
            # Feedback with a reason on an earlier answer (the first), not only the last
            page.locator("#chat button[aria-label='Dislike']").first.click()
            page.wait_for_selector("#feedback-note :text('feedback saved (👎)')")
            page.locator("#feedback-reason input").click()
            page.get_by_role("option", name="wrong or missing source").click()
            page.fill("#feedback-text textarea", "The source should be the VAE section.")
            page.click("#feedback-send")
            page.wait_for_selector("#feedback-note :text('Thanks — your feedback was saved.')")
            with sqlite3.connect(stack.settings.data_dir / "conversations.db") as db:
                stored = db.execute("SELECT f.vote, f.reason, f.text, m.text FROM feedback f JOIN messages m "
                                    "ON m.id = f.message_id WHERE f.text = 'The source should be the VAE section.'").fetchall()
            assert len(stored) == 1 and stored[0][:2] == ("down", "wrong_source") and "Variational" in stored[0][3]
            name, markdown = download(page, "#export-md")
            assert name == "what-is-a-variational-autoencoder.md"
            assert "## Question 4" in markdown and "**Sources**" in markdown and "👎 — wrong or missing source" in markdown
            name, text = download(page, "#export-json")
            exported = json.loads(text)
            assert name.endswith(".json") and [m["role"] for m in exported["messages"]] == ["user", "assistant"] * 4
            assert exported["messages"][1]["feedback"]["reason"] == "wrong_source"
            assert exported["messages"][1]["answer"]["citations"][0]["quote"]
            page.fill("#rename-title input, #rename-title textarea", "VAEs and Whisper")
            page.click("#rename")
            page.wait_for_selector("#conversations label:has-text('VAEs and Whisper')")
            assert listed(page) == ["VAEs and Whisper"]
            page.click("#delete-chat")
            page.wait_for_selector("#chat-note :text('Chat deleted.')")
            assert listed(page) == [] and page.locator("#chat .ga-answer").count() == 0
            shot(page, "chat-deleted")
    finally:
        context.close()


def test_the_readme_picture_is_taken_of_the_real_app(tmp_path, browser, stack):
    """`make screenshot` (ui.screenshot): the served app, two questions answered, the page saved as a PNG;
    its chats go to a throwaway database, not the store the app was given."""
    from ui.screenshot import take

    before = stack.assistant  # the stack's own Assistant: take() must not close it
    out = take(tmp_path / "shot.png", settings=stack.settings, assistant=stack.assistant, browser=browser)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert stack.assistant is before and stack.assistant.ask("What is a GAN?").text
