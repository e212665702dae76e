"""Gradio web UI: a thin adapter over :class:`assistant.Assistant`.

Layout: status line, chat (streamed draft replaced by the verified answer), example
questions, feedback thumbs, and a source panel showing each cited passage with its
verified quote highlighted. All HTML is built here from escaped text, so documents
and model output are inert (no tags, links, images or template syntax survive).

``ChatUI`` holds the handlers as plain methods (tested without a browser);
``create_app`` wires them into ``gr.Blocks``; ``main`` opens the assistant and launches.
gradio is imported only inside ``create_app``/``main``.
"""

import html
import ipaddress
import json
import logging
import os
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assistant.config import PROJECT_DIR, Settings
from assistant.errors import AssistantError, ConfigError
from assistant.types import Answer, Citation

log = logging.getLogger(__name__)

TITLE = "Generative AI — ask the article"
CSS_PATH = Path(__file__).parent / "assets" / "style.css"
EXAMPLES = (
    "What is a variational autoencoder?",
    "Which models did NVIDIA create?",
    "How do diffusion models generate images?",
    "Who created Whisper?",
)
LABELS = {
    "refused": "Not in the sources",
    "extractive": "Quoted from the sources — the model's answer could not be verified",
    "structured": "From the article's model table",
    "draft": "Draft — being checked against the sources…",
}
GENERIC_ERROR = "Something went wrong while answering; please try again (the details are in the server log)."
RATE_LIMITED = "You have asked {limit} questions in the last minute, the limit per client; please wait a moment and ask again."
BUSY = "Still answering your previous question; ask again when it has finished."
INCOMPLETE = "The model's answer was cut off; only its verified part is shown."
NO_SOURCES = '<div class="ga-sources"><p class="ga-empty">Sources for the answer appear here.</p></div>'
HISTORY_TURNS = 6  # (role, text) pairs kept for follow-up rewriting; bounds memory per session

# Characters that Markdown, KaTeX or template engines could act on; html.escape leaves them alone.
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "[]!`${}\\"})
_MARKER = re.compile(r"\[(\d{1,3})\]")
_BULLET = re.compile(r"^\s*[-*•]\s+")
_VARIANTS = ("'‘’‚‛", '"“”„‟', "-–—‐‑")


# --- rendering (pure functions) ------------------------------------------------------------
def inert(text: str) -> str:
    """Escape text for HTML and neutralise Markdown/template syntax (links, images, math)."""
    return html.escape(str(text), quote=True).translate(_INERT)


def _inline(text: str, titles: dict[int, str]) -> str:
    """Escaped text with ``[n]`` markers rendered as superscript citation numbers."""
    pieces = _MARKER.split(text)
    out = [inert(pieces[0])]
    for number, rest in zip(pieces[1::2], pieces[2::2], strict=True):
        title = titles.get(int(number), "")
        out.append(f'<sup class="ga-cite" title="{inert(title)}">&#91;{int(number)}&#93;</sup>{inert(rest)}')
    return "".join(out)


def render_text(text: str, titles: dict[int, str] | None = None) -> str:
    """Answer text as HTML: paragraphs, ``- `` list lines as a list, markers as citations."""
    titles = titles or {}
    blocks: list[str] = []
    items: list[str] = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if bullet:
            items.append(f"<li>{_inline(line[bullet.end():], titles)}</li>")
            continue
        if items:
            blocks.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if line.strip():
            blocks.append(f"<div>{_inline(line, titles)}</div>")
    if items:
        blocks.append("<ul>" + "".join(items) + "</ul>")
    return "".join(blocks)


def _same_query(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def render_answer(answer: Answer, question: str = "") -> str:
    """The chat message for a verified answer (refusals, quotes and notes styled apart)."""
    kind = "refused" if answer.refused else answer.mode
    titles = {c.number: c.title for c in answer.citations}
    parts = [f'<div class="ga-answer ga-{inert(kind)}">']
    if answer.query and question and not _same_query(answer.query, question):
        parts.append(f'<div class="ga-searched">Searched for: {inert(answer.query)}</div>')
    if kind in LABELS:
        parts.append(f'<div class="ga-label">{inert(LABELS[kind])}</div>')
    parts.append(f'<div class="ga-text">{render_text(answer.text, titles)}</div>')
    if answer.incomplete:
        parts.append(f'<div class="ga-incomplete">{inert(INCOMPLETE)}</div>')
    if answer.notice:
        parts.append(f'<div class="ga-notice">{inert(answer.notice)}</div>')
    if answer.unsupported:
        items = "".join(f"<li>{inert(s)}</li>" for s in answer.unsupported)
        parts.append(f'<details class="ga-unsupported"><summary>Removed as unsupported ({len(answer.unsupported)})'
                     f"</summary><ul>{items}</ul></details>")
    parts.append("</div>")
    return "".join(parts)


def render_draft(raw: str) -> str:
    """Unverified model text while it streams."""
    body = render_text(raw) if raw.strip() else "…"
    label = f'<div class="ga-label">{inert(LABELS["draft"])}</div>'
    return f'<div class="ga-answer ga-draft">{label}<div class="ga-text">{body}</div></div>'


def render_error(message: str) -> str:
    return f'<div class="ga-answer ga-error">⚠ {inert(message)}</div>'


def render_user(question: str) -> str:
    return f'<div class="ga-user">{inert(question)}</div>'


def _quote_pattern(quote: str) -> re.Pattern[str] | None:
    """A regex for the quote tolerant of whitespace, case and typographic quote/dash variants."""
    def char(c: str) -> str:
        group = next((g for g in _VARIANTS if c in g), None)
        return f"[{re.escape(group)}]" if group else re.escape(c)

    words = quote.split()
    return re.compile(r"\s+".join("".join(char(c) for c in w) for w in words), re.IGNORECASE) if words else None


def highlight(passage_text: str, quotes: list[str]) -> str:
    """Escaped passage text with each quote found in it wrapped in ``<mark>``."""
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        pattern = _quote_pattern(quote)
        found = pattern.search(passage_text) if pattern else None
        if found and not any(found.start() < end and start < found.end() for start, end in spans):
            spans.append(found.span())
    out, pos = [], 0
    for start, end in sorted(spans):
        out += [inert(passage_text[pos:start]), f"<mark>{inert(passage_text[start:end])}</mark>"]
        pos = end
    out.append(inert(passage_text[pos:]))
    return "".join(out)


def _source_card(number: int | None, title: str, section: str, body: str) -> str:
    num = f'<span class="ga-source-num">&#91;{number}&#93;</span>' if number is not None else ""
    sec = f' <span class="ga-source-section">· {inert(section)}</span>' if section and section != title else ""
    attr = f' data-source="{number}"' if number is not None else ""
    return (f'<div class="ga-source"{attr}><div class="ga-source-head">{num}<b>{inert(title)}</b>{sec}</div>'
            f'<div class="ga-passage">{body}</div></div>')


def render_sources(answer: Answer) -> str:
    """The source panel: each cited passage with its verified quotes highlighted."""
    parts = ['<div class="ga-sources">']
    if answer.refused:
        parts.append("<h3>Closest passages (none answers the question)</h3>")
        parts += [_source_card(None, p.title, p.section, inert(p.text)) for p in answer.passages[:5]]
    elif answer.citations:
        parts.append("<h3>Sources</h3>")
        by_number: dict[int, list[Citation]] = {}
        for c in answer.citations:
            by_number.setdefault(c.number, []).append(c)
        for number, cites in sorted(by_number.items()):
            first = cites[0]
            parts.append(_source_card(number, first.title, first.section,
                                      highlight(first.passage_text, [c.quote for c in cites])))
        others = [p for i, p in enumerate(answer.passages, 1) if i not in by_number]
        if others:
            items = "".join(f"<li>{inert(p.title)}</li>" for p in others)
            parts.append(f"<details><summary>Other retrieved passages ({len(others)})</summary><ul>{items}</ul></details>")
    else:
        parts.append('<p class="ga-empty">This answer cites no sources.</p>')
    parts.append("</div>")
    return "".join(parts)


# --- handlers -------------------------------------------------------------------------------
class RateLimiter:
    """At most ``per_minute`` events per key in any 60-second window (0: unlimited)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 4096):
        self.per_minute, self.clock, self.max_keys = per_minute, clock, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(now)
            if len(self._hits) > self.max_keys:  # forget idle clients so memory stays bounded
                self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < 60}
            return True


def new_session() -> dict[str, Any]:
    """Per-browser-session state: rendered messages, plain history for follow-ups, last answer."""
    return {"messages": [], "history": [], "last": None, "busy": False}


class ChatUI:
    """The UI's handlers as plain methods over an Assistant."""

    def __init__(self, assistant: Any, settings: Settings):
        self.assistant, self.settings = assistant, settings
        self.limiter = RateLimiter(settings.ui_rate_limit)
        self._feedback_lock = threading.Lock()

    def status(self) -> str:
        s = self.settings
        try:
            size = f"{self.assistant.index_size:,} passages"
        except Exception:  # a broken store must not break the page
            log.exception("reading the index size failed")
            size = "unavailable"
        return (f"<div>LLM: {inert(s.llm_provider)} · {inert(s.llm_model_name)} &nbsp;|&nbsp; "
                f"Embeddings: {inert(s.embed_model_name)} &nbsp;|&nbsp; Index: {inert(size)}</div>")

    def _safe(self, message: str) -> str:
        key = self.settings.llm_api_key.get_secret_value()
        return message.replace(key, "***") if key else message

    def respond(self, question: str, session: dict[str, Any], client: str = "unknown") -> Iterator[tuple[list[dict], str, dict]]:
        """Stream an answer: yields (chat messages, source panel HTML, session) after each change."""
        question = question if isinstance(question, str) else ""
        messages: list[dict[str, str]] = session["messages"]

        def update(sources: str = NO_SOURCES) -> tuple[list[dict], str, dict]:
            return [dict(m) for m in messages], sources, session

        if session.get("busy"):  # a second question from the same session while one is streaming
            messages.append({"role": "assistant", "content": render_error(BUSY)})
            yield update()
            return
        if question.strip():
            messages.append({"role": "user", "content": render_user(question)})
            if not self.limiter.allow(client):
                limited = RATE_LIMITED.format(limit=self.settings.ui_rate_limit)
                messages.append({"role": "assistant", "content": render_error(limited)})
                yield update()
                return
        session["busy"] = True
        try:
            yield from self._answer(question, session, update)
        finally:
            session["busy"] = False

    def _answer(self, question: str, session: dict[str, Any], update: Callable[..., tuple]) -> Iterator[tuple]:
        slot = {"role": "assistant", "content": render_draft("")}  # this answer's message, whatever is appended later
        session["messages"].append(slot)
        yield update()
        raw, answer = "", None
        try:
            for event in self.assistant.stream(question, [tuple(t) for t in session["history"]]):
                if isinstance(event, Answer):
                    answer = event
                else:
                    raw += event
                    slot["content"] = render_draft(raw)
                    yield update()
            if answer is None:
                raise RuntimeError("the assistant's stream ended without a final answer")
        except AssistantError as exc:
            slot["content"] = render_error(self._safe(str(exc)))
            yield update()
            return
        except Exception:
            log.exception("unexpected error while answering a question")
            slot["content"] = render_error(GENERIC_ERROR)
            yield update()
            return
        slot["content"] = render_answer(answer, question)
        session["history"] = (session["history"] + [["user", question], ["assistant", answer.text]])[-2 * HISTORY_TURNS:]
        session["last"] = {"question": question, "answer": answer.text, "mode": answer.mode, "query": answer.query,
                           "citations": [{"number": c.number, "title": c.title, "quote": c.quote} for c in answer.citations],
                           "vote": None}
        yield update(render_sources(answer))

    def vote(self, direction: str, session: dict[str, Any]) -> str:
        """Record 👍/👎 on the last answer as one JSONL line; returns a short note for the user."""
        last = session.get("last")
        if direction not in ("up", "down"):
            return "Unknown vote."
        if not last:
            return "Ask a question first, then rate the answer."
        if last.get("vote") == direction:
            return "Feedback already recorded — thank you."
        record = {"question": last["question"], "answer": last["answer"], "citations": last["citations"],
                  "vote": direction, "time": datetime.now(UTC).isoformat(timespec="seconds"),
                  "mode": last["mode"], "query": last["query"]}
        path = self.settings.feedback_path
        try:
            with self._feedback_lock:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as out:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError:
            log.exception("writing feedback to %s failed", path)
            return "Sorry, the feedback could not be saved (the server's feedback file is not writable)."
        last["vote"] = direction
        return "Thanks — feedback saved (👍)." if direction == "up" else "Thanks — feedback saved (👎)."


# --- app and launch ---------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(value: str) -> list[tuple[str, str]]:
    """``"user:pass,user2:pass2"`` -> pairs; raises ConfigError on a malformed entry."""
    pairs = []
    for item in filter(None, (p.strip() for p in value.split(","))):
        user, sep, password = item.partition(":")
        if not (sep and user.strip() and password):
            raise ConfigError("UI_AUTH must be user:password pairs separated by commas, e.g. UI_AUTH=alice:s3cret.")
        pairs.append((user.strip(), password))
    return pairs


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``; refuses a non-loopback bind without UI_AUTH (S7)."""
    from starlette.middleware import Middleware

    auth = parse_auth(settings.ui_auth.get_secret_value())
    if not is_loopback(settings.ui_host) and not auth:
        raise ConfigError(f"Refusing to serve the UI on {settings.ui_host} without a login: set UI_AUTH=user:password, "
                          "or UI_HOST=127.0.0.1 for local use only.")
    return dict(server_name=settings.ui_host, server_port=settings.ui_port, share=False, auth=auth or None,
                show_error=False, inbrowser=False, quiet=True, ssr_mode=False, mcp_server=False, pwa=False,
                enable_monitoring=False,
                blocked_paths=[str(settings.data_dir), str(PROJECT_DIR / ".env"), str(Path.cwd() / ".env")],
                max_file_size="1mb", footer_links=["gradio"], css=CSS_PATH.read_text(encoding="utf-8"),
                app_kwargs={"middleware": [Middleware(SameOriginGuard)]})


class SameOriginGuard:
    """ASGI middleware: refuse requests that other sites' pages make (S6).

    Gradio's CORS layer only withholds response headers, so a foreign page could still POST
    (e.g. a multipart upload); and it grants any ``localhost`` origin (any port) — or, when
    served on a non-loopback address, any origin at all — credentialed reads. Here every
    request or websocket whose ``Origin`` is not this server (``Host`` or
    ``X-Forwarded-Host``) gets 403, preflights included, and the upload route, which this
    app never uses, is closed. Requests without an Origin pass: the page's own GETs,
    navigations, curl and gradio_client (browsers always send Origin cross-origin, except
    for plain ``<img>``/``<script>`` loads, which cannot read the response).
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and not self.allowed(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"Forbidden: cross-origin request refused."})
            return
        await self.app(scope, receive, send)

    @staticmethod
    def allowed(scope: dict) -> bool:
        if str(scope.get("path", "")).rstrip("/").endswith("/upload"):
            return False
        headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        origin = headers.get(b"origin")
        if origin is None:
            return True
        hosts = {headers.get(b"host", ""), headers.get(b"x-forwarded-host", "")} - {""}
        return urlsplit(origin).netloc.lower() in {h.lower() for h in hosts}


def _client(request: Any) -> str:
    return str(getattr(getattr(request, "client", None), "host", None) or "unknown")


def create_app(assistant: Any, settings: Settings):
    """Build the Gradio Blocks app (queued, not launched) around an opened Assistant."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    ui = ChatUI(assistant, settings)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        session = gr.State(new_session())
        pending = gr.State("")
        gr.Markdown(f"## {TITLE}\nAnswers come only from the article, with every citation checked against its passage.")
        status = gr.HTML(ui.status(), elem_id="status")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(elem_id="chat", label="Chat", height=520, sanitize_html=True, render_markdown=True,
                                  latex_delimiters=[], allow_tags=False, buttons=[], feedback_options=None,
                                  autoscroll=True)
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about generative AI…", show_label=False, elem_id="question",
                                     scale=5, lines=1, max_lines=4, autofocus=True)
                    send = gr.Button("Send", variant="primary", elem_id="send", scale=1, min_width=80)
                with gr.Row(elem_id="examples"):
                    example_buttons = [gr.Button(q, size="sm", elem_classes=["ga-example"]) for q in EXAMPLES]
                with gr.Row():
                    up = gr.Button("👍 Helpful", size="sm", elem_id="vote-up", min_width=90, scale=0)
                    down = gr.Button("👎 Not helpful", size="sm", elem_id="vote-down", min_width=110, scale=0)
                    note = gr.Markdown("", elem_id="feedback-note")
            with gr.Column(scale=2):
                sources = gr.HTML(NO_SOURCES, elem_id="sources", label="Sources")

        def respond(question: str, state: dict, request: gr.Request):
            yield from ui.respond(question, state, _client(request))

        def take(question: str):
            return "", question  # clear the box at once; the question travels in `pending`

        # One named concurrency group for every way of asking (Enter, Send, examples), so UI_CONCURRENCY
        # is one limit for all of them (L1, L3); Gradio would otherwise group events by function identity.
        answer = dict(fn=respond, inputs=[pending, session], outputs=[chat, sources, session],
                      show_progress="hidden", api_visibility="private", concurrency_id="chat")
        box.submit(take, [box], [box, pending], queue=False, api_visibility="private").then(**answer)
        send.click(take, [box], [box, pending], queue=False, api_visibility="private").then(**answer)
        for button, question in zip(example_buttons, EXAMPLES, strict=True):
            button.click(lambda q=question: ("", q), None, [box, pending], queue=False,
                         api_visibility="private").then(**answer)
        # Quick handlers skip the queue so they never wait behind slow answers (L3).
        quick: dict[str, Any] = dict(queue=False, api_visibility="private")
        up.click(lambda state: ui.vote("up", state), [session], [note], **quick)
        down.click(lambda state: ui.vote("down", state), [session], [note], **quick)
        chat.clear(lambda: (new_session(), NO_SOURCES, ""), None, [session, sources, note], **quick)
        demo.load(ui.status, None, status, **quick)
    demo.queue(default_concurrency_limit=settings.ui_concurrency, max_size=settings.ui_max_queue, api_open=False)
    return demo


def _say(message: str) -> None:
    print(message, flush=True)


def main(settings: Settings) -> int:
    """Open the assistant (building the index and starting the LLM if needed) and serve the UI."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        options = launch_options(settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from assistant import Assistant

    try:
        _say("opening the index…")
        with Assistant.from_settings(settings) as assistant:
            if assistant.index_size == 0:
                _say("building the index… (first run only)")
                _say(assistant.ingest(progress=True).summary())
            if settings.llm_provider == "local":
                _say(f"starting the local LLM… ({settings.llm_model_name})")
            else:
                _say(f"connecting to the LLM at {settings.llm_url} ({settings.llm_model_name})…")
            try:
                assistant.llm  # noqa: B018 - starts the local server now rather than on the first question
            except AssistantError as exc:
                print(f"warning: {exc} Answers will quote the sources until the LLM is available.", file=sys.stderr)
            demo = create_app(assistant, settings)
            _say(f"serving the UI at http://{settings.ui_host}:{settings.ui_port} (Ctrl-C to stop)")
            demo.launch(**options)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
