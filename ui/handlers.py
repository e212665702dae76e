"""The UI's handlers as plain methods over an Assistant (tested without a browser).

``ChatUI.respond`` streams one answer into a typed per-browser :class:`Session` and stores the
verified exchange in the owner's chat (``assistant.conversations``); ``ChatUI.vote`` and
``ChatUI.feedback`` record 👍/👎, a reason and free text on any stored answer; ``ChatUI.status``
renders the status line from :meth:`Assistant.health`. The chat list (open, rename, delete,
export) is ``ui.chats``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.conversations import (
    VOTES,
    ConversationNotFoundError,
    ConversationStore,
    ConversationStoreError,
    StoreAccess,
)
from assistant.errors import AssistantError, InputError
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
NO_ANSWER = "Ask a question first, then rate the answer."
NOT_SAVED = "This answer was not saved (see the warning), so feedback on it cannot be kept."
NOT_AN_ANSWER = "Only answers can be rated."
RATE_FIRST = "Rate an answer with 👍 or 👎 first (under each answer), then say why here."
NO_OWNER = "Your browser has no chat id yet, so chats are not saved; reload the page."
HISTORY_TURNS = 6  # (role, text) pairs kept for follow-up rewriting; bounds memory per session
PENDING_TTL = 300.0  # seconds after which a client's question that never reached its answer stops counting
_BROWSER_ID = re.compile(r"[0-9a-f]{32}")

# chat messages, source panel HTML, session, question box ("" clears it, None leaves what the user typed since)
Update = tuple[list[dict[str, str]], str, "Session", str | None]


@dataclass
class Session:
    """Per-browser-session state (Gradio deep-copies it for each new session): the open chat as shown,
    and what ties it to the stored conversation."""

    messages: list[dict[str, str]] = field(default_factory=list)  # rendered chat messages
    ids: list[str | None] = field(default_factory=list)  # the stored answer id of each message (None: not an answer)
    history: list[tuple[str, str]] = field(default_factory=list)  # plain (role, text) turns for follow-ups
    sources: str = NO_SOURCES  # the source panel of the last answer
    conversation_id: str | None = None  # the stored chat shown (None: a new chat, stored with its first answer)
    title: str = ""
    votes: dict[str, str] = field(default_factory=dict)  # answer id -> "up"/"down", as stored
    target: str | None = None  # the answer that the reason and comment of the feedback form are about
    warning: str = ""  # why chats are not being saved (shown above the list); "" when they are
    browser: str = ""  # the owner id the browser keeps (see owner_of)
    busy: bool = False

    def add(self, role: str, content: str, answer_id: str | None = None) -> dict[str, str]:
        message = {"role": role, "content": content}
        self.messages.append(message)
        self.ids.append(answer_id)
        return message

    def mark(self, message: dict[str, str], answer_id: str) -> None:
        """Tie a shown message to its stored answer (for feedback on it)."""
        for i in range(len(self.messages) - 1, -1, -1):
            if self.messages[i] is message:
                self.ids[i] = answer_id
                return

    def drop_oldest(self) -> None:
        self.messages.pop(0)
        self.ids.pop(0)

    def answer_id(self, index: int | None) -> str | None:
        """The stored id of the answer at `index` of the chat (the last stored answer when None)."""
        if index is None:
            return next((i for i in reversed(self.ids) if i), None)
        return self.ids[index] if 0 <= index < len(self.ids) else None


def owner_of(username: str | None, browser: object, session: Session | None = None, create: bool = False) -> str | None:
    """Whose chats these are: the logged-in user with UI_AUTH, else the random id the browser keeps in
    localStorage (``browser``; remembered in ``session``, which makes one with ``create`` when the
    browser has none yet). None: no owner yet. The prefixes keep users, browsers and API owners
    ("key:...", "local") apart."""
    if username:
        return f"user:{username}"
    if isinstance(browser, str) and _BROWSER_ID.fullmatch(browser):
        if session is not None:
            session.browser = browser
        return f"browser:{browser}"
    if session is None:
        return None
    if not session.browser and create:
        session.browser = uuid.uuid4().hex  # 128 random bits: it works like a password, so it is never shown
    return f"browser:{session.browser}" if session.browser else None


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


def _size(messages: list[dict[str, str]]) -> int:
    return sum(len(m.get("content", "").encode()) for m in messages)


class ChatUI:
    """The UI's handlers over an opened Assistant."""

    def __init__(self, assistant: Assistant, settings: Settings, conversations: StoreAccess | None = None):
        self.assistant, self.settings = assistant, settings
        self.conversations = conversations or StoreAccess(settings)  # opened on first use (tests without chats never open it)
        self.limiter = RateLimiter(settings.ui_rate_limit)
        self.votes = RateLimiter(settings.ui_feedback_rate)
        self.pending = Pending(settings.ui_client_concurrency)

    def status(self) -> str:
        """The status line: LLM state (and why it is down) and index size; never raises."""
        try:
            return render_status(self.assistant.health(), self.settings.embed_model_name)
        except Exception:  # a broken store must not break the page
            log.exception("reading the assistant's health failed")
            return '<div class="ga-status">Status unavailable; see the server log.</div>'

    def _safe(self, message: str) -> str:
        return redact(message, [self.settings.llm_api_key.get_secret_value()])

    def store(self, session: Session) -> ConversationStore:
        """The conversation store, or ConversationStoreError (its message becomes the session's warning)."""
        try:
            return self.conversations.get()
        except ConversationStoreError as exc:
            self.warn(session, exc)
            raise

    def warn(self, session: Session, error: ConversationStoreError) -> None:
        session.warning = self._safe(str(error))

    def take(self, question: str, client: str = "unknown") -> tuple[bool, str]:
        """The first step of asking, before the queue: (accepted, message). A client that already has
        UI_CLIENT_CONCURRENCY questions waiting or running is refused here, so it cannot fill the
        queue, and its question stays in the box (L6)."""
        count = self.pending.take(client)
        if count >= self.pending.limit:
            return False, TOO_MANY.format(count=count)
        return True, ""

    def respond(self, question: str, session: Session, client: str = "unknown", taken: bool = False,
                owner: str | None = None) -> Iterator[Update]:
        """Stream an answer: yields (chat messages, source panel HTML, session, question box) after each change.

        The verified answer (never the draft) is stored with its question in the owner's open chat
        (a new one for the first question) before it is shown as final; when the database fails, the
        answer is shown all the same and ``session.warning`` says why it was not saved. Without an
        owner nothing is stored. Nothing that is rejected is stored (L7): a too-long or rate-limited
        question leaves only the error in the chat and stays in the box to be edited.
        ``taken``: :meth:`take` counted it."""
        try:
            yield from self._respond(question, session, client, owner)
        finally:
            if taken:
                self.pending.release(client)

    def _respond(self, question: str, session: Session, client: str, owner: str | None) -> Iterator[Update]:
        raw = question if isinstance(question, str) else ""
        question = clean_text(raw).strip()  # lone surrogates, controls and invisible characters never go further (B7)

        cleared = False

        def update(sources: str = NO_SOURCES, box: str | None = None) -> Update:
            nonlocal cleared
            if box is None and not cleared:
                box, cleared = "", True  # the question left the box when its answer began
            return [dict(m) for m in session.messages], sources, session, box

        def reject(message: str) -> Iterator[Update]:
            session.add("assistant", render_error(message))
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
            session.add("user", render_user(question))
        session.busy = True
        try:
            yield from self._answer(question, session, update, owner)
        finally:
            session.busy = False
            self._trim(session)

    def _trim(self, session: Session) -> None:
        """Keep the session's chat under UI_MAX_SESSION_KB, oldest messages first out (L7)."""
        limit = self.settings.ui_max_session_kb * 1024
        while len(session.messages) > 1 and _size(session.messages) > limit:
            session.drop_oldest()

    def _answer(self, question: str, session: Session, update: Callable[..., Update], owner: str | None) -> Iterator[Update]:
        slot = session.add("assistant", render_draft(""))  # this answer's message, whatever is appended later
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
        answer_id = self._save(owner, session, question, answer)
        if answer_id:
            session.mark(slot, answer_id)
        slot["content"] = render_answer(answer, question)
        session.history = (session.history + [("user", question), ("assistant", answer.text)])[-2 * HISTORY_TURNS:]
        session.sources = render_sources(answer)
        yield update(session.sources)

    def _save(self, owner: str | None, session: Session, question: str, answer: Answer) -> str | None:
        """Store the exchange in the owner's open chat (created with its first exchange); the answer's
        id, or None when it could not be stored (``session.warning`` says why)."""
        if owner is None:
            session.warning = NO_OWNER
            return None
        try:
            store = self.store(session)
            for attempt in (1, 2):
                if session.conversation_id is None:
                    created = store.create(owner)
                    session.conversation_id, session.title = created.id, created.title
                try:
                    _, answered = store.append_exchange(owner, session.conversation_id, question, answer)
                    break
                except ConversationNotFoundError:  # deleted meanwhile (another tab): this exchange starts a new chat
                    session.conversation_id = None
                    if attempt == 2:
                        raise
        except ConversationStoreError as exc:
            self.warn(session, exc)
            return None
        except (InputError, ConversationNotFoundError) as exc:  # a limit was reached: say what to do
            session.warning = self._safe(str(exc))
            return None
        session.warning = ""
        if not session.title:
            session.title = question
        return answered.id

    def vote(self, direction: str, session: Session, client: str = "unknown", owner: str | None = None,
             index: int | None = None) -> str:
        """Record 👍/👎 on the answer at `index` of the chat (the last stored answer when None) in the store,
        rate-limited per client (S13); that answer becomes the one the feedback form is about.
        Returns a short note for the user."""
        if direction not in VOTES:
            return "Unknown vote."
        if index is not None and not (0 <= index < len(session.ids) and session.messages[index]["role"] == "assistant"):
            return NOT_AN_ANSWER
        answer_id = session.answer_id(index)
        if answer_id is None:
            return NO_ANSWER if index is None and not any(m["role"] == "user" for m in session.messages) else NOT_SAVED
        if session.votes.get(answer_id) == direction:
            session.target = answer_id
            return "Feedback already recorded — thank you. Say why below (optional)."
        note = self._feedback(session, client, owner, answer_id, direction)
        if note:
            return note
        session.votes[answer_id], session.target = direction, answer_id
        return f"Thanks — feedback saved ({'👍' if direction == 'up' else '👎'}). Say why below (optional)."

    def feedback(self, session: Session, client: str = "unknown", owner: str | None = None, reason: str | None = None,
                 text: str = "") -> str:
        """The reason (a code or label of REASONS) and free text for the answer last rated: stored with
        its vote, rate-limited per client, cleaned and cut to FEEDBACK_MAX_CHARS (S13)."""
        target = session.target
        if target is None or target not in session.votes:
            return RATE_FIRST
        text = text if isinstance(text, str) else ""
        if not (reason or text.strip()):
            return "Choose a reason or write a comment, then send it."
        note = self._feedback(session, client, owner, target, session.votes[target], reason or None,
                              text[: 4 * self.settings.feedback_max_chars])  # the store cleans and cuts; this bounds the work
        return note or "Thanks — your feedback was saved."

    def _feedback(self, session: Session, client: str, owner: str | None, answer_id: str, vote: str,
                  reason: str | None = None, text: str = "") -> str:
        """Store one feedback; "" when stored, else the note to show."""
        if owner is None:
            return NO_OWNER
        if not self.votes.allow(client):
            return FEEDBACK_LIMITED
        try:
            self.store(session).add_feedback(owner, answer_id, vote, reason, text)
        except ConversationStoreError as exc:
            self.warn(session, exc)
            return "Sorry, the feedback could not be saved (see the warning)."
        except (ConversationNotFoundError, InputError) as exc:
            return self._safe(str(exc))
        session.warning = ""
        return ""
