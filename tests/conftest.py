"""Shared fixtures: real Chroma in tmp dirs, the real embedding model (loaded once),
an OpenAI-compatible HTTP fake, the real local llama.cpp server, a real Chroma server.

Tests never reach the internet; no test mocks the project's own internals.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
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


def make_settings(data_dir: Path, llm_url: str = "http://127.0.0.1:9/v1", **overrides) -> Settings:
    """Settings isolated from the developer's .env and environment: an OpenAI-compatible LLM at
    `llm_url` (nothing answers at the default), no retries, no per-client rate limit."""
    values = dict(data_dir=data_dir, knowledge_dir=KNOWLEDGE, llm_provider="openai_compatible",
                  llm_base_url=llm_url, llm_model="fake-model", llm_timeout=5, llm_max_retries=0, ui_rate_limit=0,
                  ui_host="127.0.0.1")
    values.update(overrides)
    return Settings(_env_file=None, **values)


def wait_until(condition, seconds: float, every: float = 0.2) -> bool:
    """Whether `condition()` became true within `seconds` (polled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def wait_for_http(url: str, proc: subprocess.Popen, seconds: float, output=lambda: "") -> None:
    """Poll `url` until it answers 200. Fails at once, with `output()`, if `proc` exits first."""

    def answers() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the process exited early (code {proc.returncode}):\n{output()}")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(url, timeout=2).status_code == 200
        return False

    if not wait_until(answers, seconds, every=0.3):
        raise AssertionError(f"{url} did not answer within {seconds:.0f} s")


def _healthy(stack: Stack):
    """A stack with a healthy FakeLLM at the start and the end of a test."""
    stack.reset_llm()
    yield stack
    stack.reset_llm()


def kill_during_embedding(args: list[str], cwd: Path, env: dict[str, str], total: int) -> None:
    """Run `python -m assistant <args>` and SIGKILL it once tqdm shows a stored batch of the `total` chunks
    ("Embedding: ...| 64/256"): more batches are still to come (F8, F14)."""
    import re
    import signal
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "assistant", *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    seen = bytearray()
    killed = threading.Event()

    def watch() -> None:
        while chunk := proc.stderr.read1(4096):  # type: ignore[union-attr]
            seen.extend(chunk)
            if re.search(rb"Embedding:[^\r\n]*\| *([1-9]\d+)/" + str(total).encode(), seen):
                proc.send_signal(signal.SIGKILL)
                killed.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    try:
        proc.wait(timeout=240)
    finally:
        proc.kill()
    assert killed.is_set() and proc.returncode == -signal.SIGKILL, seen.decode(errors="replace")[-2000:]


@pytest.fixture(scope="session")
def embed_model():
    """The bundled all-MiniLM-L6-v2, loaded once for the whole run."""
    from assistant.embeddings import build_embed_model

    return build_embed_model(make_settings(Path("/tmp")))


def open_assistant(settings: Settings, embed_model):
    """An Assistant over the settings' store, sharing the session's embedding model."""
    from assistant.api import Assistant

    return Assistant.from_settings(settings, embed_model=embed_model)


@pytest.fixture(scope="session")
def indexed_dir(tmp_path_factory, embed_model) -> Path:
    """A data dir holding the full knowledge index, built once per test run (the run's only index build)."""
    data_dir = tmp_path_factory.mktemp("index")
    assistant = open_assistant(make_settings(data_dir), embed_model)
    assistant.ingest()
    assistant.close()
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
def fake(shared_fake_llm):
    """The session FakeLLM with its request log cleared (the `assistant` fixture talks to it)."""
    shared_fake_llm.reset()
    return shared_fake_llm


@pytest.fixture
def assistant(indexed_dir, embed_model, shared_fake_llm):
    """An Assistant over the shared index (read-only use) talking to the HTTP fake LLM."""
    shared_fake_llm.set_mode("ok", reply="A variational autoencoder encodes input data into a compressed, "
                                          "latent representation [1].")
    # compose_answers off: these tests drive the LLM path with definition questions; composed answers
    # (no LLM call) have their own tests with the production default (the `composing` fixture).
    a = open_assistant(make_settings(indexed_dir, shared_fake_llm.url, compose_answers=False), embed_model)
    yield a
    a.close()


@pytest.fixture
def composing(indexed_dir, embed_model, shared_fake_llm):
    """An Assistant with the production defaults (answers composed from entries where they can be)."""
    a = open_assistant(make_settings(indexed_dir, shared_fake_llm.url), embed_model)
    yield a
    a.close()


# --- the web UI's stack: an Assistant over a writable copy of the index, a FakeLLM, the served app ---------
@dataclass
class Stack:
    assistant: Any
    fake: FakeLLM
    settings: Settings
    embed_model: Any

    def reset_llm(self) -> None:
        """Back to a healthy fake that cites passage [1]."""
        from tests.gradio_session import cite_first_passage

        self.fake.reset()
        self.fake.set_mode("ok", reply_fn=cite_first_passage)

    def private_assistant(self, target_dir: Path, **overrides) -> tuple[Any, Settings]:
        """An Assistant over a private copy of this stack's index (a test may write to it), same FakeLLM."""
        shutil.copytree(self.settings.data_dir, target_dir)
        settings = make_settings(target_dir, self.fake.url, **{"llm_model": "fake", "compose_answers": False, **overrides})
        return open_assistant(settings, self.embed_model), settings


@pytest.fixture(scope="session")
def ui_stack(indexed_dir, embed_model, tmp_path_factory):
    """The UI tests' assistant over its own copy of the index (they add documents to it) and its FakeLLM."""
    fake = FakeLLM().start()
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    shutil.copytree(indexed_dir, data_dir)
    settings = make_settings(data_dir, fake.url, llm_model="fake", compose_answers=False)  # the LLM path (see `assistant`)
    stack = Stack(open_assistant(settings, embed_model), fake, settings, embed_model)
    stack.reset_llm()
    yield stack
    stack.assistant.close()
    fake.stop()


@pytest.fixture
def stack(ui_stack):
    """The UI stack with a healthy FakeLLM at the start and the end of each test."""
    yield from _healthy(ui_stack)


@pytest.fixture(scope="module")
def api_stack(indexed_dir, embed_model):
    """What `serve` runs, over the shared index (read-only): an Assistant with the production defaults and its
    own FakeLLM (which cites passage [1]); one per test module of the served app."""
    fake = FakeLLM().start()
    settings = make_settings(indexed_dir, fake.url, llm_model="fake")
    stack = Stack(open_assistant(settings, embed_model), fake, settings, embed_model)
    stack.reset_llm()
    yield stack
    stack.assistant.close()
    fake.stop()


@pytest.fixture
def backend(api_stack):
    """The API stack with a healthy FakeLLM at the start and the end of each test."""
    yield from _healthy(api_stack)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    from tests.gradio_session import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing at /usr/bin/chromium; install it with `apt-get install -y chromium` "
                    "(the tests never download a browser).", pytrace=False)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def app(ui_stack):
    """The real app (create_app + launch_options, as `main` uses them) served on a free loopback port."""
    from tests.gradio_session import RunningApp

    with RunningApp(ui_stack.assistant, ui_stack.settings) as running:
        yield running


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
    try:
        wait_for_http(f"{url}/api/v2/heartbeat", proc, 60, output=(tmp_path / "chroma.log").read_text)
    except AssertionError:
        proc.kill()
        proc.wait()
        log.close()
        raise
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


# --- PostgreSQL: Debian's server in a throwaway cluster, started and stopped by the tests ---------------
def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb (Debian's `postgresql` package)."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    return max(found, key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0) if found else None


class PostgresCluster:
    """A PostgreSQL cluster initdb'd in a temp dir and served on a free loopback port (a context manager).

    PostgreSQL refuses to run as root, so as root (CI) initdb and the server run as the `postgres`
    user that Debian's package creates, through Popen(user=...): the server is this process's own
    child, in its own process group, and `stop()` ends the group on every exit path."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            pytest.fail("PostgreSQL is missing; install Debian's package with `apt-get install -y postgresql` "
                        "(`make postgres`).", pytrace=False)
        self.bindir: Path = bindir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.user: str | None = "postgres" if os.geteuid() == 0 else None
        # Not under pytest's tmp dirs: those are root-only, and the postgres user must reach the cluster.
        self.dir = Path(tempfile.mkdtemp(prefix="ga-postgres-"))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _as_server_user(self) -> dict[str, Any]:
        if not self.user:
            return {}
        import pwd

        account = pwd.getpwnam(self.user)
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def start(self) -> PostgresCluster:
        try:
            run_as = self._as_server_user()
            if run_as:
                os.chown(self.dir, run_as["user"], run_as["group"])
            data = self.dir / "data"
            init = subprocess.run([str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                   "-E", "UTF8", "--no-locale", "--no-sync"], capture_output=True, text=True, cwd=self.dir,
                                  **run_as)
            if init.returncode:
                raise RuntimeError(f"initdb failed: {init.stderr[-2000:]}")
            log = open(self.dir / "server.log", "wb")
            # fsync off: a test cluster need not survive a power cut; clients killed with -9 are still rolled back.
            self.proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(self.port),
                 "-k", str(self.dir), "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=60"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.dir, **run_as)
            log.close()
            self._wait_ready(30)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, seconds: float) -> None:
        import psycopg

        deadline = time.monotonic() + seconds
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.dir / 'server.log').read_text()[-2000:]}")
            try:
                psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not accept connections within {seconds:.0f} s") from None
                time.sleep(0.1)

    def create_database(self, name: str = "") -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        import uuid

        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def pids(self) -> list[int]:
        """The cluster's live processes: the postmaster and every child it forked (backends, checkpointer, ...).
        PostgreSQL makes each child its own process-group leader, so they are found by their working
        directory (the data directory, which every one of them runs in), even if orphaned."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cwd = os.readlink(proc / "cwd")
                state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            except OSError:
                continue
            if cwd.startswith(str(self.dir)) and state != "Z":
                found.append(int(proc.name))
        return found

    def stop(self) -> None:
        """Fast shutdown (clients disconnected, open transactions rolled back), then SIGKILL whatever is left."""
        import signal

        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for _ in range(50):
            left = self.pids()
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def postgres_cluster():
    """One real PostgreSQL for the whole run, stopped at its end (also when the run fails or is interrupted)."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres(postgres_cluster) -> str:
    """The URL of a database created for the run in the session's PostgreSQL."""
    return postgres_cluster.create_database("assistant")


def pytest_configure(config):
    """A SIGTERM (CI's time limit, `kill`) ends the run as Ctrl-C does: pytest then tears the fixtures
    down, so the servers they started (PostgreSQL, Chroma, LLM servers) are stopped, not left running."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


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
    "B7": "Lone surrogates through the UI's HTTP route and votes", "B8": "Markdown/HTML in the user's own question",
    "B9": "Garbage text files (no whitespace, high bytes)", "B10": "File names with terminal escapes",
    "F13": "Local LLM server crashes: bounded restarts, state shown",
    "F14": "ingest --rebuild keeps every source; interrupted rebuild",
    "F15": "No llama.cpp server outlives the app (SIGTERM, exit without close())", "F16": "doctor reports each failure",
    "L6": "One client cannot take every slot and the queue", "L7": "Session memory and response size bounded",
    "S9": "DNS rebinding (Host allow-list)", "S10": "Symlinks out of the ingested folder", "S11": "Credentials in URLs redacted",
    "S12": "Client identity: proxy headers, login throttling", "S13": "Feedback writes rate-limited and size-capped",
    "S14": "Removed text never shows the system prompt; hidden HTML not indexed", "S15": "Gradio side routes need the login",
    # Stored conversations (docs/conversations.md):
    "F17": "Two processes write one conversation database (SQLite, PostgreSQL): nothing lost",
    "F18": "Conversation database locked, unwritable or unreachable: one clear error; the UI and API go on answering, "
           "with a visible warning",
    "F19": "Corrupt conversation database: clear error with the fix, file untouched; the chat goes on with a warning",
    "F20": "kill -9 while an exchange is stored: no earlier message lost, no half exchange",
    "F21": "Conversation database from a newer version: clear version error",
    "F23": "kill -9 of `serve` in the middle of an answer: after a restart every earlier message is there",
    "L8": "Scale-out: a chat continues in another process (two `serve` on one PostgreSQL and one Chroma server)",
    "S16": "One owner can never list, open, change, export or rate another's chat (store, UI handlers, page, HTTP API)",
    # HTTP API and MCP (README "Use it from other clients"):
    "B11": "Malformed API bodies (invalid JSON, wrong types, no user message): OpenAI-style 400",
    "F22": "Index missing: the APIs answer 503, health still answers",
    "L9": "More API answers than API_MAX_CONCURRENT: 429 with Retry-After",
    "L10": "8 concurrent API clients: no error, no mixed-up answers",
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
    for case, title in sorted(CASES.items(), key=lambda c: ("BFLS".index(c[0][0]), int(c[0][1:]))):
        results = _RESULTS.get(case, [])
        names = "<br>".join(f"`{name}`" for name in dict.fromkeys(n for n, _ in results)) or "—"
        verdict = "no test" if not results else ("passed" if all(o == "passed" for _, o in results) else "FAILED")
        lines.append(f"| {case} | {title} | {names} | {verdict} |")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text("\n".join(lines) + "\n")
