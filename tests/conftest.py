"""Shared fixtures: real Chroma in tmp dirs, the real embedding model (loaded once),
an OpenAI-compatible HTTP fake, the real local llama.cpp server, a real Chroma server.

Tests never reach the internet; no test mocks the project's own internals.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
for key in ("OPENAI_API_KEY", "LLM_API_KEY", "LLM_PROVIDER", "LLM_BASE_URL", "CHROMA_URL", "DATA_DIR"):
    os.environ.pop(key, None)  # tests set what they need explicitly

from assistant.config import PROJECT_DIR, Settings  # noqa: E402
from tests.fakellm import FakeLLM, fake_llm  # noqa: E402,F401

KNOWLEDGE = PROJECT_DIR / "knowledge"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings isolated from the developer's .env and environment."""
    values = dict(data_dir=data_dir, knowledge_dir=KNOWLEDGE, llm_provider="openai_compatible",
                  llm_base_url="http://127.0.0.1:9/v1", llm_model="fake-model", llm_timeout=5, llm_max_retries=0)
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def embed_model():
    """The bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    from assistant.embeddings import build_embed_model

    return build_embed_model(make_settings(Path("/tmp")))


def open_assistant(settings: Settings, embed_model):
    from assistant.api import Assistant
    from assistant.store import Store

    store = Store(settings.chroma_path, settings.chroma_url, settings.chroma_collection)
    store.check_embedding(settings.embed_model_name)
    return Assistant(settings, store, embed_model)


@pytest.fixture(scope="session")
def indexed_dir(tmp_path_factory, embed_model) -> Path:
    """A data dir holding the full knowledge index, built once per test run."""
    data_dir = tmp_path_factory.mktemp("index")
    assistant = open_assistant(make_settings(data_dir), embed_model)
    assistant.ingest()
    return data_dir


@pytest.fixture
def index_copy(indexed_dir, tmp_path) -> Path:
    """A private copy of the full index that a test may change."""
    target = tmp_path / "data"
    shutil.copytree(indexed_dir, target)
    return target


@pytest.fixture(scope="session")
def shared_fake_llm():
    with FakeLLM(reply="A variational autoencoder encodes input data into a compressed, latent representation [1].") as fake:
        yield fake


@pytest.fixture
def assistant(indexed_dir, embed_model, shared_fake_llm):
    """An Assistant over the shared index (read-only use) talking to the HTTP fake LLM."""
    shared_fake_llm.set_mode("ok", reply="A variational autoencoder encodes input data into a compressed, "
                                          "latent representation [1].")
    a = open_assistant(make_settings(indexed_dir, llm_base_url=shared_fake_llm.url), embed_model)
    yield a
    a.close()


@pytest.fixture(scope="session")
def local_llm_url(tmp_path_factory):
    """The real llama.cpp server with the bundled SmolLM2 model, started once."""
    from assistant.llm import LocalLLMServer

    settings = make_settings(tmp_path_factory.mktemp("llm"), llm_provider="local", llm_base_url="",
                             local_llm_port=free_port(), llm_model="")
    server = LocalLLMServer(settings)
    server.start()
    yield settings.local_llm_url
    server.stop()


@pytest.fixture
def chroma_server(tmp_path):
    """A real `chroma run` server on loopback, stopped after the test."""
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = open(tmp_path / "chroma.log", "wb")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "server-store"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    import urllib.request

    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((tmp_path / "chroma.log").read_text()) from None
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("chroma server did not start within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


# --- reliability table -------------------------------------------------------------------
# Tests named test_<ID>_... (B1..B6, F1..F12, L1..L5, S1..S8 of RELIABILITY.md) are collected
# into a Markdown table after the run, when RELIABILITY_TABLE names the file to write.
CASES = {
    "B1": "Empty or whitespace-only question", "B2": "Very long question", "B3": "Control/invisible characters",
    "B4": "Lone surrogates; latin-1/UTF-16/binary files", "B5": "Direct prompt injection", "B6": "Oversized or disallowed files",
    "F1": "LLM endpoint down", "F2": "Endpoint never answers", "F3": "5xx/429/400/401 handling",
    "F4": "Malformed JSON; stream cut",
    "F5": "Store directory read-only", "F6": "Store directory deleted while running", "F7": "Disk full",
    "F8": "kill -9 during ingest", "F9": "Store from another chromadb version", "F10": "Embedding model changed",
    "F11": "Same corpus ingested twice; edits; deletes", "F12": "Ingest while the UI serves",
    "L1": "More chats than concurrency + queue", "L2": "One failing request under load", "L3": "Slow LLM with 10 users",
    "L4": "Per-client rate limit", "L5": "Chat while ingest runs in the same process",
    "S1": "XSS payloads rendered inert", "S2": "Markdown-image exfiltration", "S3": "Indirect prompt injection",
    "S4": "Disclosure of secrets / stack traces", "S5": "Path traversal / SSRF", "S6": "Foreign-origin uploads",
    "S7": "Exposure defaults", "S8": "Dependency audit",
}
_RESULTS: dict[str, list[tuple[str, str]]] = {}


def pytest_runtest_logreport(report):
    import re

    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    match = re.search(r"::test_([BFLS]\d{1,2})_", report.nodeid)
    if match:
        _RESULTS.setdefault(match.group(1), []).append((report.nodeid.split("::")[-1].split("[")[0], report.outcome))


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get("RELIABILITY_TABLE")
    if not target:
        return
    lines = ["# Reliability cases", "",
             "Generated by the test run (`make test`); see ../shared/docs/RELIABILITY.md for each case.",
             "S8 runs in `.ci/run` (`make audit`, pip-audit against requirements.lock).", "",
             "| case | what | tests | result |", "|---|---|---|---|"]
    for case, title in CASES.items():
        results = _RESULTS.get(case, [])
        names = "<br>".join(f"`{name}`" for name in dict.fromkeys(n for n, _ in results)) or "—"
        verdict = "no test" if not results else ("passed" if all(o == "passed" for _, o in results) else "FAILED")
        lines.append(f"| {case} | {title} | {names} | {verdict} |")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text("\n".join(lines) + "\n")
