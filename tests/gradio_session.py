"""Talk to the running app the way the page does: Gradio's HTTP protocol (``GradioSession``),
the app served from a thread (``RunningApp``), a deterministic model reply (``cite_first_passage``)
and a Chromium tab (``open_page``). Plain helpers; the fixtures that use them are in conftest.py.
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant import Assistant, Settings

_PASSAGE = re.compile(r"^\[1\] (.+)$", re.MULTILINE)
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def cite_first_passage(body: dict) -> str:
    """A deterministic 'model': repeats the first sentence of passage [1] (with its "Title: " lead) and cites it."""
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if isinstance(m, dict))
    found = _PASSAGE.search(prompt)
    if not found:
        return "I cannot find that in the passages."
    first = _SENTENCE.match(found.group(1).strip())
    return f"{(first.group(1) if first else found.group(1)).strip()} [1]"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningApp:
    """The real app (ui.app.create_app + launch_options, as `main` uses them) served from a thread.
    ``port``: serve on this one (a restart keeps the page's origin, and so its localStorage)."""

    def __init__(self, assistant: Assistant, settings: Settings, port: int = 0):
        from ui.app import create_app, launch_options

        self.settings = settings.model_copy(update={"ui_port": port or free_port()})
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


class GradioSession:
    """One browser tab speaking Gradio's own HTTP protocol to a running app, as the page does.

    Non-queued events go to ``POST /gradio_api/run/predict``; queued ones join the queue
    (``POST /gradio_api/queue/join``) and read their result from the SSE stream
    (``GET /gradio_api/queue/data``). Events are named by their ``api_name`` in ``/config``
    (private endpoints included), so ``ask`` replays exactly what the Send button does.
    ``browser`` is the owner id this tab's localStorage holds (``gr.BrowserState``): the page sends it
    with every event that takes it; two sessions with the same one are two tabs of one browser.
    """

    def __init__(self, base_url: str, config: dict | None = None, headers: dict | None = None, timeout: float = 30,
                 browser: str | None = None):
        import httpx

        self.base = base_url.rstrip("/")
        self.api = self.base + "/gradio_api"
        self.hash = uuid.uuid4().hex[:12]
        self.browser = browser if browser is not None else uuid.uuid4().hex
        self.timeout = timeout
        self.http = httpx.Client(timeout=timeout, headers=headers or {})
        self.config = config if config is not None else self.http.get(self.base + "/config").json()
        self.deps = {d["api_name"]: d for d in self.config["dependencies"]}
        self.kinds = {c["id"]: c.get("type") for c in self.config["components"]}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> GradioSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def body(self, api_name: str, data: list, event_data: dict | None = None) -> dict:
        """The request body of an event; `data` gives the inputs other than the browser's owner id,
        which is filled in where the event takes it (as the page does from localStorage)."""
        dep = self.deps[api_name]
        trigger = (dep.get("targets") or [[None]])[0][0]
        inputs = dep.get("inputs") or []
        kept = [i for i in inputs if self.kinds.get(i) == "browserstate"]
        if kept and len(data) == len(inputs) - len(kept):  # other lengths are sent as they are (malformed on purpose)
            given = iter(data)
            data = [self.browser if self.kinds.get(i) == "browserstate" else next(given, None) for i in inputs]
        return {"data": data, "fn_index": dep["id"], "session_hash": self.hash, "trigger_id": trigger,
                "event_data": event_data}

    def submit(self, api_name: str, data: list, event_data: dict | None = None) -> Pending:
        """Start one event: join the queue (queued events) or run it at once (non-queued ones)."""
        dep, started = self.deps[api_name], time.monotonic()
        if not dep.get("queue"):
            reply = self.http.post(self.api + "/run/predict", **_json_body(self.body(api_name, data, event_data)))
            payload = _json(reply)
            done = Event(reply.status_code, reply.status_code == 200, payload.get("data"),
                         str(payload.get("error") or ""), time.monotonic() - started)
            return Pending(self, None, started, done)
        join = self.http.post(self.api + "/queue/join", **_json_body(self.body(api_name, data, event_data)))
        if join.status_code != 200:
            detail = _json(join).get("detail")
            done = Event(join.status_code, False, None, str(detail or join.text), time.monotonic() - started)
            return Pending(self, None, started, done)
        return Pending(self, join.json()["event_id"], started)

    def call(self, api_name: str, data: list, on_event: Callable[[dict], None] | None = None,
             event_data: dict | None = None) -> Event:
        """Run one event to completion (bounded by ``timeout``); never raises for HTTP errors."""
        return self.submit(api_name, data, event_data).wait(on_event)

    # --- the conversation list and feedback, as the page's controls send them ---------------------------
    def chats(self) -> list[tuple[str, str]]:
        """(title, chat id) of this browser's stored chats, newest first: what the page lists on load."""
        event = self.call("start", [None])
        assert event.ok, event.error
        return choices(event.data[0])

    def open_chat(self, chat_id: str) -> Event:
        """Click a chat in the list; outputs: chat, sources, note, list, title, warning, exports."""
        return self.call("open_chat", [chat_id, None])

    def vote(self, index: int, liked: bool) -> Event:
        """Click 👍 (liked) or 👎 under the message at `index` of the chat."""
        return self.call("vote", [None], event_data={"index": index, "value": None, "liked": liked})

    def feedback(self, reason: str | None, text: str = "") -> Event:
        """Choose a reason, write a comment and send them (about the answer rated last)."""
        return self.call("feedback", [reason, text, None])

    def ask(self, question: str = "", on_event: Callable[[dict], None] | None = None, via: str = "send") -> Event:
        """Ask as the page does (see ``send``) and wait for the answer."""
        return self.send(question, via).wait(on_event)

    def send(self, question: str = "", via: str = "send") -> Pending:
        """Ask without waiting for the answer: the non-queued first step, then its queued `respond`.

        ``via``: "send" (the Send button), "enter" (Enter in the box) or "example:N" (the N-th
        example button, which ignores `question`) — each is its own chain of events in Gradio.
        """
        take, then = self.type(question, via)
        return self.submit(then, [None, None]) if take.ok else Pending(self, None, time.monotonic(), take)

    def type(self, question: str = "", via: str = "send") -> tuple[Event, str]:
        """The non-queued first step of asking (it moves the question out of the box); returns
        its result and the api_name of the queued step that answers (submit it with [None, None])."""
        first = {"send": "take_1", "enter": "take"}.get(via) or self._example(int(via.split(":")[1]))
        take = self.call(first, [] if via.startswith("example") else [question])
        then = next(d["api_name"] for d in self.deps.values() if d.get("trigger_after") == self.deps[first]["id"])
        return take, then

    def _example(self, n: int) -> str:
        examples = [c["id"] for c in self.config["components"] if "ga-example" in (c.get("props", {}).get("elem_classes") or [])]
        return next(d["api_name"] for d in self.deps.values() if (d.get("targets") or [[None]])[0][0] == examples[n])


@dataclass
class Pending:
    """A submitted event; ``wait`` reads its SSE stream until it completes."""

    session: GradioSession
    event_id: str | None
    started: float
    done: Event | None = None

    @property
    def joined(self) -> bool:
        return self.event_id is not None

    def wait(self, on_event: Callable[[dict], None] | None = None) -> Event:
        if self.done is not None:
            return self.done
        s, messages = self.session, []
        with s.http.stream("GET", s.api + "/queue/data", params={"session_hash": s.hash}) as stream:
            for line in stream.iter_lines():
                if time.monotonic() - self.started > s.timeout:
                    raise TimeoutError(f"event {self.event_id} did not complete within {s.timeout} s")
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") not in (None, self.event_id):
                    continue
                messages.append(message)
                if on_event:
                    on_event(message)
                if message.get("msg") == "process_completed":
                    output = message.get("output") or {}
                    self.done = Event(200, bool(message.get("success")), output.get("data"),
                                      str(output.get("error") or ""), time.monotonic() - self.started, messages)
                    return self.done
                if message.get("msg") in ("unexpected_error", "close_stream"):
                    break
        self.done = Event(200, False, None, str(messages[-1] if messages else "stream ended"),
                          time.monotonic() - self.started, messages)
        return self.done


@dataclass
class Event:
    status: int  # HTTP status of the join (or of run/predict)
    ok: bool  # completed without a Gradio-level error
    data: list | None  # outputs of the completed event
    error: str = ""
    seconds: float = 0.0
    messages: list = field(default_factory=list)

    @property
    def chat(self) -> list[dict]:
        """The chat messages (first output of `respond` and of the chat list's handlers)."""
        value = (self.data or [[]])[0] or []
        return value.get("value") or [] if isinstance(value, dict) else value

    @property
    def last(self) -> str:
        """The HTML of the last chat message ('' if none)."""
        return _text(self.chat[-1]["content"]) if self.chat else ""

    @property
    def sources(self) -> str:
        """The source panel's HTML (second output of `respond`)."""
        return str((self.data or [None, ""])[1] or "")


def choices(update: dict | None) -> list[tuple[str, str]]:
    """The (label, value) choices of a Radio update as Gradio sends it."""
    return [(str(label), str(value)) for label, value in (update or {}).get("choices") or []]


def _text(content) -> str:
    """A chat message's content as the app sent it (Gradio splits it into typed parts)."""
    if isinstance(content, list):
        return "".join(_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or "")
    return str(content or "")


def _json_body(body: dict) -> dict:
    """A JSON request body as the page's JavaScript sends it: ASCII with \\u escapes, so a lone surrogate
    (B7) travels as the escape an attacker would send."""
    return {"content": json.dumps(body).encode(), "headers": {"content-type": "application/json"}}


def _json(reply) -> dict:
    try:
        value = reply.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def open_page(browser: Any, url: str) -> Iterator[Any]:
    """Yield a fresh tab (= a fresh chat session) on the app at `url`, ready for a question, recording
    every request it makes in ``page.requests`` (including ones that fail)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.wait_for_selector("#status :text('passages')")
    yield page
    context.close()
