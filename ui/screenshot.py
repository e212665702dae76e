"""Take the README's picture, docs/screenshot.png: the real app with the configured LLM (the bundled
model unless .env names another), two questions asked in Debian's Chromium. `make screenshot`.

Chats go to a temporary database, so no stored conversation is touched. The LLM server, the app and
the browser are all stopped on the way out, whatever happens.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from assistant import Assistant
from assistant.config import Settings

QUESTIONS = ("What is a variational autoencoder?", "How do diffusion models generate images?")
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
FINAL = "#chat .ga-answer:not(.ga-draft)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ask(page, question: str) -> None:
    before = page.locator(FINAL).count()
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n"
                           " && !document.querySelector('#chat .ga-draft')", arg=[FINAL, before])


def take(out: Path = OUT, settings: Settings | None = None, assistant: Assistant | None = None, browser: Any = None) -> Path:
    """Serve the app on a free loopback port, ask QUESTIONS and save the page as it looks. The Assistant is
    opened from `settings` (default: the environment and .env) and Chromium launched unless they are given."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from playwright.sync_api import sync_playwright

    from ui.app import create_app, launch_options

    if not os.path.exists(CHROMIUM):
        raise SystemExit("Chromium is missing at /usr/bin/chromium; install it with `apt-get install -y chromium`.")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        settings = (settings or Settings()).model_copy(update={"database_url": f"sqlite:///{tmp}/conversations.db",
                                                               "ui_host": "127.0.0.1", "ui_port": _free_port()})
        if assistant is None:  # starts the bundled LLM server when no endpoint is configured; stopped on exit
            assistant = stack.enter_context(Assistant.from_settings(settings))
        demo = create_app(assistant, settings)
        demo.launch(**{**launch_options(settings), "prevent_thread_lock": True})
        stack.callback(demo.close, verbose=False)
        if browser is None:
            playwright = stack.enter_context(sync_playwright())
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            stack.callback(browser.close)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        stack.callback(page.close)
        page.set_default_timeout(120_000)
        page.goto(f"http://127.0.0.1:{settings.ui_port}/")
        page.wait_for_selector("#status :text('passages')")
        for question in QUESTIONS:
            _ask(page, question)
        page.mouse.move(0, 0)
        page.screenshot(path=str(out))
    return out


if __name__ == "__main__":
    print(f"Saved {take(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)}")
