"""The web UI in a real browser: Debian's Chromium driven by Playwright against the real app.

The app runs in a thread on a free loopback port over the shared test index, with the
FakeLLM as its model (the `app` and `stack` fixtures in tests/conftest.py). Screenshots go to test-output/screenshots/.
No browser is ever downloaded: without /usr/bin/chromium these tests fail with the fix.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.gradio_session import cite_first_passage, open_page

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
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
    feedback = stack.settings.feedback_path
    lines_before = len(feedback.read_text(encoding="utf-8").splitlines()) if feedback.exists() else 0
    page.click("#vote-up")
    page.wait_for_selector("#feedback-note :text('feedback saved')")
    lines = feedback.read_text(encoding="utf-8").splitlines()
    assert len(lines) == lines_before + 1 and '"vote": "up"' in lines[-1] and "StyleGAN" in lines[-1]
    shot(page, "example-and-feedback")
