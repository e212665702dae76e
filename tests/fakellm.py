"""A fake OpenAI-compatible HTTP server for fault-injection tests.

``FakeLLM`` runs a real ``http.server.ThreadingHTTPServer`` on 127.0.0.1 (free
port) in a daemon thread, so the code under test talks to it over real HTTP
through the ordinary ``openai`` / LlamaIndex ``OpenAI``/``OpenAILike`` clients.

Endpoints (the ``/v1`` prefix is optional):

* ``GET  /v1/models``            -> list containing ``model``
* ``POST /v1/chat/completions``  -> chat completion (``stream`` true/false, SSE)
* ``POST /v1/completions``       -> text completion (``stream`` true/false, SSE)
* ``GET  /health``               -> ``{"status": "ok"}``

Fault modes (``set_mode``) only affect the two POST endpoints; GET endpoints
always answer normally.

    mode           keyword arguments
    -------------  ----------------------------------------------------------
    "ok"           reply, reply_fn, delay
    "status"       status (default 500), message, type, code, retry_after,
                   headers, times, delay
    "malformed"    body (default: truncated JSON), times, delay
    "cut"          cut_after (content chunks sent before the cut, default 2),
                   reply, reply_fn, times, delay
    "hang"         times
    "slow_stream"  delay_per_chunk (default 0.2), reply, reply_fn, times, delay

* ``reply`` / ``reply_fn(body) -> str`` are persistent content settings: they
  survive later ``set_mode`` calls.  Passing ``reply`` clears ``reply_fn``
  (unless ``reply_fn`` is given in the same call).
* ``delay`` (seconds, before the response starts) and every other option is
  scoped to the mode it was given with; the next ``set_mode`` resets them.
* ``times=N`` (any non-"ok" mode): only the next N POSTs get the fault, then
  the server reverts to plain "ok" (with the persistent reply settings).
* All waits (``delay``, ``hang``, ``slow_stream``) wake up as soon as
  ``stop()`` is called, so ``stop()`` returns promptly (well under 2 s).

Bookkeeping (all thread-safe): ``requests`` (JSON bodies of completion
POSTs, in arrival order), ``request_headers`` (matching header dicts, lower-case
keys), ``attempts`` (number of POSTs, including faulted/invalid ones),
``errors`` (exceptions raised by ``reply_fn``), ``reset()`` clears them.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = ["FakeLLM", "fake_llm"]

_MODE_OPTIONS: dict[str, set[str]] = {
    "ok": {"delay"},
    "status": {"status", "message", "type", "code", "retry_after", "headers", "times", "delay"},
    "malformed": {"body", "times", "delay"},
    "cut": {"cut_after", "times", "delay"},
    "hang": {"times"},
    "slow_stream": {"delay_per_chunk", "times", "delay"},
}
_CONTENT_OPTIONS = {"reply", "reply_fn"}
_CONTENT_MODES = {"ok", "cut", "slow_stream"}

_ERROR_DEFAULTS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request (injected by FakeLLM).", "invalid_request_error", None),
    401: ("Incorrect API key provided (injected by FakeLLM).", "invalid_request_error", "invalid_api_key"),
    403: ("Permission denied (injected by FakeLLM).", "permission_error", None),
    404: ("The model does not exist (injected by FakeLLM).", "invalid_request_error", "model_not_found"),
    408: ("Request timed out (injected by FakeLLM).", "timeout_error", None),
    409: ("Conflict (injected by FakeLLM).", "conflict_error", None),
    422: ("Unprocessable entity (injected by FakeLLM).", "invalid_request_error", None),
    429: ("Rate limit reached (injected by FakeLLM).", "requests", "rate_limit_exceeded"),
    500: ("The server had an error (injected by FakeLLM).", "server_error", None),
    502: ("Bad gateway (injected by FakeLLM).", "server_error", None),
    503: ("The engine is currently overloaded (injected by FakeLLM).", "server_error", None),
    504: ("Gateway timeout (injected by FakeLLM).", "server_error", None),
}

_TOKEN_RE = re.compile(r"\s*\S+")
_POLL = 0.05  # seconds; granularity of interruptible waits


def _tokens(text: str) -> list[str]:
    """Split into word-ish tokens (leading whitespace kept); ``"".join(_tokens(t)) == t``."""
    toks = _TOKEN_RE.findall(text)
    if not toks:
        return [text] if text else []
    toks[-1] += text[len("".join(toks)):]  # trailing whitespace
    return toks


def _count_words(body: dict) -> int:
    parts: list[str] = []
    for m in body.get("messages") or []:
        c = m.get("content") if isinstance(m, dict) else None
        if isinstance(c, str):
            parts.append(c)
        elif isinstance(c, list):
            parts.extend(p.get("text", "") for p in c if isinstance(p, dict))
    p = body.get("prompt")
    if isinstance(p, str):
        parts.append(p)
    elif isinstance(p, list):
        parts.extend(x for x in p if isinstance(x, str))
    return sum(len(x.split()) for x in parts)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, fake: FakeLLM):
        self.fake = fake
        self.conns: set[socket.socket] = set()
        self.conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address):  # pragma: no cover - noise
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class _Cut(Exception):
    """Raised inside the handler to abort the connection without finishing."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive + chunked streaming
    server_version = "FakeLLM/1.0"
    disable_nagle_algorithm = True  # headers and body are separate writes; avoid 40 ms delayed-ACK stalls
    server: _Server

    # ----------------------------------------------------------------- plumbing
    def setup(self) -> None:
        super().setup()
        with self.server.conns_lock:
            self.server.conns.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            with self.server.conns_lock:
                self.server.conns.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # silence
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _Cut:
            self.close_connection = True
            try:
                self.wfile.flush()
            except OSError:
                pass
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True

    @property
    def fake(self) -> FakeLLM:
        return self.server.fake

    def _path(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/v1/"):
            path = path[3:]
        return path or "/"

    def _send_json(self, status: int, obj: Any, headers: dict | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_" + uuid.uuid4().hex[:16])
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error_json(self, status: int, message: str, type_: str, code: Any = None,
                         headers: dict | None = None) -> None:
        self._send_json(status, {"error": {"message": message, "type": type_, "param": None, "code": code}},
                        headers)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _sse(self, obj: Any) -> None:
        payload = obj if isinstance(obj, str) else json.dumps(obj)
        self._write_chunk(f"data: {payload}\n\n".encode())

    # ------------------------------------------------------------------- routes
    def do_GET(self) -> None:
        path = self._path()
        if path == "/health":
            self._send_json(200, {"status": "ok"})
        elif path == "/models":
            self._send_json(200, {"object": "list", "data": [self.fake._model_obj()]})
        elif path.startswith("/models/"):
            name = path[len("/models/"):]
            if name == self.fake.model:
                self._send_json(200, self.fake._model_obj())
            else:
                self._send_error_json(404, f"The model '{name}' does not exist", "invalid_request_error",
                                      "model_not_found")
        else:
            self._send_error_json(404, f"Unknown path {self.path}", "invalid_request_error", "not_found")

    def do_POST(self) -> None:
        fake = self.fake
        path = self._path()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with fake._lock:
            fake.attempts += 1
        if path not in ("/chat/completions", "/completions"):
            self._send_error_json(404, f"Unknown path {self.path}", "invalid_request_error", "not_found")
            return
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
        except ValueError as e:
            self._send_error_json(400, f"Could not parse request body as JSON: {e}", "invalid_request_error")
            return
        mode, opts, reply, reply_fn = fake._take(body, {k.lower(): v for k, v in self.headers.items()})
        chat = path == "/chat/completions"

        if mode == "hang":
            fake._wait(None)
            raise _Cut()  # stopped: drop the connection without a response

        delay = opts.get("delay")
        if delay and fake._wait(delay):
            raise _Cut()

        if mode == "status":
            status = int(opts.get("status", 500))
            d_msg, d_type, d_code = _ERROR_DEFAULTS.get(status, (f"Error {status} (injected by FakeLLM).",
                                                                   "api_error", None))
            headers = dict(opts.get("headers") or {})
            if opts.get("retry_after") is not None:
                headers["Retry-After"] = opts["retry_after"]
            self._send_error_json(status, opts.get("message", d_msg), opts.get("type", d_type),
                                  opts.get("code", d_code), headers)
            return

        if mode == "malformed":
            data = opts.get("body", '{"id": "chatcmpl-broken", "choices": [{"message": {"content": "Hel')
            data = data.encode() if isinstance(data, str) else data
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            return

        # content modes: ok / cut / slow_stream
        try:
            text = reply_fn(body) if reply_fn is not None else reply
            text = "" if text is None else str(text)
        except Exception as e:  # surface reply_fn bugs to the test
            with fake._lock:
                fake.errors.append(e)
            self._send_error_json(500, f"reply_fn raised {type(e).__name__}: {e}", "server_error")
            return

        model = body.get("model") or fake.model
        cid = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
        created = int(time.time())
        usage = {"prompt_tokens": _count_words(body), "completion_tokens": len(_tokens(text))}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]

        if not body.get("stream"):
            if chat:
                resp = {"id": cid, "object": "chat.completion", "created": created, "model": model,
                        "system_fingerprint": None,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                     "logprobs": None, "finish_reason": "stop"}],
                        "usage": usage}
            else:
                resp = {"id": cid, "object": "text_completion", "created": created, "model": model,
                        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}],
                        "usage": usage}
            if mode == "cut":
                data = json.dumps(resp).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) + 100))
                self.end_headers()
                self.wfile.write(data[: max(1, len(data) // 2)])
                raise _Cut()
            self._send_json(200, resp)
            return

        # ---- streaming (SSE over chunked transfer encoding)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", "req_" + uuid.uuid4().hex[:16])
        self.end_headers()
        self.wfile.flush()

        def chunk(delta_text: str | None, finish: str | None = None, first: bool = False) -> dict:
            if chat:
                delta: dict = {}
                if first:
                    delta["role"] = "assistant"
                if delta_text is not None:
                    delta["content"] = delta_text
                choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                obj = "chat.completion.chunk"
            else:
                choice = {"index": 0, "text": delta_text or "", "logprobs": None, "finish_reason": finish}
                obj = "text_completion"
            return {"id": cid, "object": obj, "created": created, "model": model, "choices": [choice]}

        per_chunk = float(opts.get("delay_per_chunk", 0.2)) if mode == "slow_stream" else 0.0
        cut_after = int(opts.get("cut_after", 2)) if mode == "cut" else None
        toks = _tokens(text)
        if chat:
            self._sse(chunk("", first=True))
        for i, tok in enumerate(toks):
            if cut_after is not None and i >= cut_after:
                raise _Cut()
            if per_chunk and fake._wait(per_chunk):
                raise _Cut()
            self._sse(chunk(tok))
        if cut_after is not None:
            raise _Cut()  # reply shorter than cut_after: still never finish
        self._sse(chunk(None, finish="stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            self._sse({"id": cid, "object": "chat.completion.chunk" if chat else "text_completion",
                       "created": created, "model": model, "choices": [], "usage": usage})
        self._sse("[DONE]")
        self._write_chunk(b"")  # terminating zero-length chunk


class FakeLLM:
    """Fake OpenAI-compatible server; see the module docstring."""

    def __init__(self, reply: str = "Hello [1].", model: str = "fake-model"):
        self.reply: str = reply
        self.reply_fn: Callable[[dict], str] | None = None
        self.model = model
        self.requests: list[dict] = []
        self.request_headers: list[dict] = []
        self.errors: list[BaseException] = []
        self.attempts: int = 0
        self.mode: str = "ok"
        self.mode_options: dict = {}
        self._remaining: int | None = None
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeLLM is not started; call start() or use it as a context manager")
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no ``/v1``), e.g. for ``/health``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """OpenAI base URL, ``http://127.0.0.1:PORT/v1``."""
        return self.root_url + "/v1"

    base_url = url

    def start(self) -> FakeLLM:
        if self._server is not None:
            return self
        self._stop_event = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": _POLL},
                                        name=f"FakeLLM:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stop_event.set()  # wake hanging / sleeping handlers
        server.shutdown()  # stops serve_forever (poll interval _POLL)
        server.server_close()
        with server.conns_lock:
            conns = list(server.conns)
        for c in conns:  # unblock idle keep-alive handlers
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if thread is not None:
            thread.join(timeout=2)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"<FakeLLM {where} mode={self.mode!r}>"

    # --------------------------------------------------------------------- modes
    def set_mode(self, mode: str, **kw: Any) -> None:
        if mode not in _MODE_OPTIONS:
            raise ValueError(f"unknown FakeLLM mode {mode!r}; expected one of {sorted(_MODE_OPTIONS)}")
        allowed = _MODE_OPTIONS[mode] | (_CONTENT_OPTIONS if mode in _CONTENT_MODES else set())
        unknown = set(kw) - allowed
        if unknown:
            raise TypeError(f"set_mode({mode!r}) got unexpected option(s) {sorted(unknown)}; "
                            f"allowed: {sorted(allowed)}")
        if mode == "status" and "status" not in kw:
            kw["status"] = 500
        times = kw.pop("times", None)
        if times is not None and int(times) < 0:
            raise ValueError("times must be >= 0")
        with self._lock:
            if "reply" in kw:
                self.reply = kw.pop("reply")
                self.reply_fn = None
            if "reply_fn" in kw:
                self.reply_fn = kw.pop("reply_fn")
            if times is not None and int(times) == 0:
                mode, kw = "ok", {}
            self.mode = mode
            self.mode_options = kw
            self._remaining = int(times) if times is not None and mode != "ok" else None

    def reset(self) -> None:
        """Back to mode "ok" and clear requests/attempts/errors (reply settings kept)."""
        with self._lock:
            self.mode, self.mode_options, self._remaining = "ok", {}, None
            self.requests.clear()
            self.request_headers.clear()
            self.errors.clear()
            self.attempts = 0

    @property
    def last_request(self) -> dict | None:
        with self._lock:
            return self.requests[-1] if self.requests else None

    # ------------------------------------------------------------------ internal
    def _take(self, body: dict, headers: dict) -> tuple[str, dict, str, Callable[[dict], str] | None]:
        """Record a completion request and snapshot the config that applies to it."""
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(headers)
            mode, opts = self.mode, dict(self.mode_options)
            if self._remaining is not None:
                self._remaining -= 1
                if self._remaining <= 0:
                    self.mode, self.mode_options, self._remaining = "ok", {}, None
            return mode, opts, self.reply, self.reply_fn

    def _wait(self, seconds: float | None) -> bool:
        """Sleep up to ``seconds`` (forever if None); True if stop() was called."""
        ev = self._stop_event
        deadline = None if seconds is None else time.monotonic() + float(seconds)
        while True:
            step = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            if step <= 0:
                return ev.is_set()
            if ev.wait(step):
                return True

    def _model_obj(self) -> dict:
        return {"id": self.model, "object": "model", "created": 1700000000, "owned_by": "fakellm"}


@pytest.fixture
def fake_llm():
    """A started ``FakeLLM``; stopped after the test."""
    fake = FakeLLM().start()
    try:
        yield fake
    finally:
        fake.stop()
