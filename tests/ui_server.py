"""Helpers for UI tests: one shared index + FakeLLM per test process, and the real app served on a loopback port.

The index (knowledge/ embedded with the bundled model, ~20 s) is built once per process
in a temporary data dir and shared by tests/test_ui.py and tests/test_browser.py.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from fakellm import FakeLLM  # noqa: E402

from assistant import Assistant, Settings  # noqa: E402

_PASSAGE = re.compile(r"^\[1\] [^:\n]+: (.+)$", re.MULTILINE)
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)")


def cite_first_passage(body: dict) -> str:
    """A deterministic 'model': repeats the first sentence of passage [1] and cites it."""
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if isinstance(m, dict))
    found = _PASSAGE.search(prompt)
    if not found:
        return "I cannot find that in the passages."
    first = _SENTENCE.match(found.group(1).strip())
    return f"{(first.group(1) if first else found.group(1)).strip()} [1]"


@dataclass
class Stack:
    assistant: Assistant
    fake: FakeLLM
    settings: Settings

    def reset_llm(self) -> None:
        """Back to a healthy fake that cites passage [1]."""
        self.fake.reset()
        self.fake.set_mode("ok", reply_fn=cite_first_passage)


_stack: Stack | None = None
_stack_lock = threading.Lock()


def make_settings(data_dir, llm_url: str, **overrides) -> Settings:
    """Settings for tests: FakeLLM endpoint, no retries, no .env file."""
    values = dict(data_dir=data_dir, llm_provider="openai_compatible", llm_base_url=llm_url, llm_model="fake",
                  llm_timeout=5, llm_max_retries=0, ui_rate_limit=0, ui_host="127.0.0.1")
    values.update(overrides)
    return Settings(_env_file=None, **values)


def shared_stack() -> Stack:
    """The process-wide assistant over a tmp index, with its FakeLLM (built on first use)."""
    global _stack
    with _stack_lock:
        if _stack is None:
            fake = FakeLLM().start()
            data_dir = tempfile.mkdtemp(prefix="ui-tests-")
            settings = make_settings(data_dir, fake.url)
            assistant = Assistant.from_settings(settings)
            assistant.ingest()
            _stack = Stack(assistant, fake, settings)
            _stack.reset_llm()

            def cleanup() -> None:
                assistant.close()
                fake.stop()
                shutil.rmtree(data_dir, ignore_errors=True)

            atexit.register(cleanup)
        return _stack


def fresh_stack() -> Iterator[Stack]:
    """Body of the test modules' ``stack`` fixture: the shared stack with a healthy FakeLLM."""
    s = shared_stack()
    s.reset_llm()
    yield s
    s.reset_llm()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningApp:
    """The real app (ui.app.create_app + launch_options, as `main` uses them) served from a thread."""

    def __init__(self, assistant: Assistant, settings: Settings):
        from ui.app import create_app, launch_options

        self.settings = settings.model_copy(update={"ui_port": free_port()})
        self.demo = create_app(assistant, self.settings)
        options = launch_options(self.settings)
        self.demo.launch(**{**options, "prevent_thread_lock": True})
        self.url = f"http://127.0.0.1:{self.settings.ui_port}/"

    def close(self) -> None:
        self.demo.close(verbose=False)

    def __enter__(self) -> RunningApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
