"""The UI's handlers as plain methods over an Assistant (tested without a browser).

``ChatUI.respond`` streams one answer into a typed per-browser :class:`Session`;
``ChatUI.vote`` records feedback; ``ChatUI.status`` renders the status line from
:meth:`Assistant.health`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError
from assistant.redact import redact
from assistant.text import clean_text
from assistant.types import Answer
from ui.render import NO_SOURCES, render_answer, render_draft, render_error, render_sources, render_status, render_user

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.config import Settings

log = logging.getLogger(__name__)

GENERIC_ERROR = "Something went wrong while answering; please try again (the details are in the server log)."
RATE_LIMITED = "You have asked {limit} questions in the last minute, the limit per client; please wait a moment and ask again."
BUSY = "Still answering your previous question; ask again when it has finished."
TOO_MANY = ("You already have {count} questions waiting or being answered; ask again when one has finished "
            "(your question is still in the box).")
TOO_LONG = "The question is {size:,} characters long; the limit is {limit:,} (MAX_QUESTION_CHARS). Please shorten it."
FEEDBACK_LIMITED = "Too many votes in the last minute; please wait a moment."
HISTORY_TURNS = 6  # (role, text) pairs kept for follow-up rewriting; bounds memory per session
MAX_FEEDBACK_BYTES = 16_384  # one feedback record at most; longer texts are cut
PENDING_TTL = 300.0  # seconds after which a client's question that never reached its answer stops counting
# Unicode line breaks that readers splitting on any line break would cut a JSON line at (S13).
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"})

# chat messages, source panel HTML, session, question box ("" clears it, None leaves what the user typed since)
Update = tuple[list[dict[str, str]], str, "Session", str | None]


@dataclass
class LastAnswer:
    """What feedback on the last answer records."""

    question: str
    answer: str
    mode: str
    query: str
    citations: list[dict[str, Any]]
    vote: str | None = None


@dataclass
class Session:
    """Per-browser-session state (Gradio deep-copies it for each new session)."""

    messages: list[dict[str, str]] = field(default_factory=list)  # rendered chat messages
    history: list[tuple[str, str]] = field(default_factory=list)  # plain (role, text) turns for follow-ups
    last: LastAnswer | None = None
    busy: bool = False


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


class Pending:
    """Questions each client has sent and not yet had answered (L6): counted when a question leaves
    the box, released when its answer ends (or after PENDING_TTL, if the queue refused it)."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic):
        self.limit, self.clock = limit, clock
        self._open: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> int:
        """Count one more question for `client`; returns how many it already had (>= limit: refused)."""
        now = self.clock()
        with self._lock:
            open_ = [t for t in self._open.get(client, []) if now - t < PENDING_TTL]
            if len(open_) >= self.limit:
                self._open[client] = open_
                return len(open_)
            self._open[client] = open_ + [now]
            return len(open_)

    def release(self, client: str) -> None:
        with self._lock:
            open_ = self._open.get(client, [])
            if open_:
                open_.pop(0)
            if not open_:
                self._open.pop(client, None)


def feedback_line(record: dict[str, Any]) -> str:
    """One JSON line, at most MAX_FEEDBACK_BYTES, with Unicode line breaks escaped (S13)."""
    line = json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS)
    while len(line.encode()) > MAX_FEEDBACK_BYTES:
        longest = max(("question", "answer"), key=lambda k: len(str(record.get(k, ""))))
        record = {**record, longest: str(record[longest])[: len(str(record[longest])) // 2] + "…",
                  "citations": record["citations"][:3]}
        line = json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS)
    return line


def _size(messages: list[dict[str, str]]) -> int:
    return sum(len(m.get("content", "").encode()) for m in messages)


class ChatUI:
    """The UI's handlers over an opened Assistant."""

    def __init__(self, assistant: Assistant, settings: Settings):
        self.assistant, self.settings = assistant, settings
        self.limiter = RateLimiter(settings.ui_rate_limit)
        self.votes = RateLimiter(settings.ui_feedback_rate)
        self.pending = Pending(settings.ui_client_concurrency)
        self._feedback_lock = threading.Lock()

    def status(self) -> str:
        """The status line: LLM state (and why it is down) and index size; never raises."""
        try:
            return render_status(self.assistant.health(), self.settings.embed_model_name)
        except Exception:  # a broken store must not break the page
            log.exception("reading the assistant's health failed")
            return '<div class="ga-status">Status unavailable; see the server log.</div>'

    def _safe(self, message: str) -> str:
        return redact(message, [self.settings.llm_api_key.get_secret_value()])

    def take(self, question: str, client: str = "unknown") -> tuple[bool, str]:
        """The first step of asking, before the queue: (accepted, message). A client that already has
        UI_CLIENT_CONCURRENCY questions waiting or running is refused here, so it cannot fill the
        queue, and its question stays in the box (L6)."""
        count = self.pending.take(client)
        if count >= self.pending.limit:
            return False, TOO_MANY.format(count=count)
        return True, ""

    def respond(self, question: str, session: Session, client: str = "unknown", taken: bool = False) -> Iterator[Update]:
        """Stream an answer: yields (chat messages, source panel HTML, session, question box) after each change.

        Nothing that is rejected is stored (L7): a too-long or rate-limited question leaves only the
        error in the chat and stays in the box to be edited. ``taken``: :meth:`take` counted it."""
        try:
            yield from self._respond(question, session, client)
        finally:
            if taken:
                self.pending.release(client)

    def _respond(self, question: str, session: Session, client: str) -> Iterator[Update]:
        raw = question if isinstance(question, str) else ""
        question = clean_text(raw).strip()  # lone surrogates, controls and invisible characters never go further (B7)

        cleared = False

        def update(sources: str = NO_SOURCES, box: str | None = None) -> Update:
            nonlocal cleared
            if box is None and not cleared:
                box, cleared = "", True  # the question left the box when its answer began
            return [dict(m) for m in session.messages], sources, session, box

        def reject(message: str) -> Iterator[Update]:
            session.messages.append({"role": "assistant", "content": render_error(message)})
            self._trim(session)
            yield update(box=question)

        if session.busy:  # a second question from the same session while one is streaming
            yield from reject(BUSY)
            return
        if len(question) > self.settings.max_question_chars:
            yield from reject(TOO_LONG.format(size=len(question), limit=self.settings.max_question_chars))
            return
        if question and not self.limiter.allow(client):
            yield from reject(RATE_LIMITED.format(limit=self.settings.ui_rate_limit))
            return
        if question:
            session.messages.append({"role": "user", "content": render_user(question)})
        session.busy = True
        try:
            yield from self._answer(question, session, update)
        finally:
            session.busy = False
            self._trim(session)

    def _trim(self, session: Session) -> None:
        """Keep the session's chat under UI_MAX_SESSION_KB, oldest messages first out (L7)."""
        limit = self.settings.ui_max_session_kb * 1024
        while len(session.messages) > 1 and _size(session.messages) > limit:
            session.messages.pop(0)

    def _answer(self, question: str, session: Session, update: Callable[..., Update]) -> Iterator[Update]:
        slot = {"role": "assistant", "content": render_draft("")}  # this answer's message, whatever is appended later
        session.messages.append(slot)
        yield update()
        raw, answer = "", None
        try:
            for event in self.assistant.stream(question, list(session.history)):
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
        session.history = (session.history + [("user", question), ("assistant", answer.text)])[-2 * HISTORY_TURNS:]
        session.last = LastAnswer(question=question, answer=answer.text, mode=answer.mode, query=answer.query,
                                  citations=[{"number": c.number, "title": c.title, "quote": c.quote} for c in answer.citations])
        yield update(render_sources(answer))

    def vote(self, direction: str, session: Session, client: str = "unknown") -> str:
        """Record 👍/👎 on the last answer as one JSONL line (rate-limited and size-capped, S13);
        returns a short note for the user."""
        last = session.last
        if direction not in ("up", "down"):
            return "Unknown vote."
        if last is None:
            return "Ask a question first, then rate the answer."
        if last.vote == direction:
            return "Feedback already recorded — thank you."
        if not self.votes.allow(client):
            return FEEDBACK_LIMITED
        record = {"question": last.question, "answer": last.answer, "citations": last.citations,
                  "vote": direction, "time": datetime.now(UTC).isoformat(timespec="seconds"),
                  "mode": last.mode, "query": last.query}
        path = self.settings.feedback_path
        try:
            with self._feedback_lock:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as out:
                    out.write(feedback_line(record) + "\n")
        except OSError:
            log.exception("writing feedback to %s failed", path)
            return "Sorry, the feedback could not be saved (the server's feedback file is not writable)."
        last.vote = direction
        return "Thanks — feedback saved (👍)." if direction == "up" else "Thanks — feedback saved (👎)."
