"""The conversation list's handlers as plain methods (tested without a browser): list the owner's
chats, open one (its messages, last source panel and follow-up context come back from the store),
start a new one, rename, delete, and export the open chat as Markdown and JSON files.

Every method takes the owner (see ``ui.handlers.owner_of``) and the browser session; the store only
ever shows that owner's chats. A database failure becomes ``session.warning`` and the chat goes on.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.conversations import ConversationNotFoundError, ConversationStoreError
from assistant.conversations.export import to_json, to_markdown
from assistant.errors import InputError
from ui.handlers import HISTORY_TURNS, Session
from ui.render import render_answer, render_sources, render_user

if TYPE_CHECKING:
    from assistant.conversations import Conversation
    from ui.handlers import ChatUI

LIST_SIZE = 100  # chats shown in the list, most recently active first
BUSY = "Wait for the answer to finish first."
GONE = "This chat was not found (it may have been deleted in another tab); start a new chat."


@dataclass
class Listing:
    """The conversation list as shown: (label, chat id) choices, newest first, and the open chat's id."""

    choices: list[tuple[str, str]]
    selected: str | None


@dataclass
class Exports:
    """The open chat written as files for the download buttons (None: no chat to export)."""

    markdown: Path | None = None
    json: Path | None = None


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-") or "chat"


class Chats:
    """Handlers of the conversation list over a ChatUI's store."""

    def __init__(self, ui: ChatUI, export_dir: Path | None = None):
        self.ui = ui
        self._export_dir = export_dir

    @property
    def export_dir(self) -> Path:
        """Where exports are written: outside DATA_DIR (a blocked path), in the system temp dir, from which
        Gradio copies what a handler returns into its cache to serve it. Made on first use, removed at exit."""
        if self._export_dir is None:
            self._export_dir = Path(tempfile.mkdtemp(prefix="ga-exports-"))
            weakref.finalize(self, shutil.rmtree, self._export_dir, True)
        return self._export_dir

    def listing(self, owner: str | None, session: Session) -> Listing:
        """The owner's chats, most recently active first; empty (with a warning) when the store fails."""
        if owner is None:
            return Listing([], None)
        try:
            chats = self.ui.store(session).list(owner, limit=LIST_SIZE)
        except ConversationStoreError as exc:
            self.ui.warn(session, exc)
            return Listing([], session.conversation_id)
        except InputError:
            return Listing([], None)
        return Listing([(c.display_title, c.id) for c in chats], session.conversation_id)

    def open(self, owner: str | None, session: Session, chat_id: str | None) -> str:
        """Show a stored chat in the session: its messages, the last answer's sources and the history
        that follow-up questions are read against. Returns a note ("" when opened)."""
        if session.busy:
            return BUSY
        if owner is None or not chat_id:
            return ""
        try:
            chat = self.ui.store(session).get(owner, chat_id)
        except ConversationStoreError:
            return "This chat cannot be opened now (see the warning)."
        except (ConversationNotFoundError, InputError):
            self.new(session)
            return GONE
        self._show(session, chat)
        return ""

    def _show(self, session: Session, chat: Conversation) -> None:
        fresh = Session(conversation_id=chat.id, title=chat.title)
        question = ""
        for message in chat.messages:
            if message.role == "user":
                question = message.text
                fresh.add("user", render_user(message.text))
            elif message.answer is not None:
                fresh.add("assistant", render_answer(message.answer, question), message.id)
                fresh.sources = render_sources(message.answer)
                if message.feedback:
                    fresh.votes[message.id] = message.feedback.vote
        fresh.history = [(str(m.role), m.text) for m in chat.messages][-2 * HISTORY_TURNS:]
        self.ui._trim(fresh)  # the page keeps UI_MAX_SESSION_KB (L7); the store keeps the whole chat
        self._replace(session, fresh)

    def new(self, session: Session) -> str:
        """An empty chat; it is stored with its first answer."""
        if session.busy:
            return BUSY
        self._replace(session, Session())
        return ""

    @staticmethod
    def _replace(session: Session, fresh: Session) -> None:
        warning, browser = session.warning, session.browser
        session.__dict__.update(fresh.__dict__)  # in place: Gradio keeps the same state object
        session.warning, session.browser = warning, browser

    def rename(self, owner: str | None, session: Session, title: str) -> str:
        if owner is None or session.conversation_id is None:
            return "Ask a question first: a chat is saved with its first answer."
        try:
            chat = self.ui.store(session).rename(owner, session.conversation_id, title)
        except ConversationStoreError:
            return "The chat could not be renamed (see the warning)."
        except ConversationNotFoundError:
            self.new(session)
            return GONE
        except InputError as exc:
            return str(exc)
        session.title, session.warning = chat.title, ""
        return "Renamed."

    def delete(self, owner: str | None, session: Session) -> str:
        """Delete the open chat (its messages and feedback go too) and show a new one."""
        if session.busy:
            return BUSY
        if owner is None or session.conversation_id is None:
            self.new(session)
            return ""
        chat_id = session.conversation_id
        try:
            self.ui.store(session).delete(owner, chat_id)
        except ConversationStoreError:
            return "The chat could not be deleted (see the warning)."
        except ConversationNotFoundError:
            pass  # already gone
        if self._export_dir is not None:
            shutil.rmtree(self._export_dir / chat_id, ignore_errors=True)
        self.new(session)
        session.warning = ""
        return "Chat deleted."

    def exports(self, owner: str | None, session: Session) -> Exports:
        """The open chat as a Markdown and a JSON file (answers with citations and quotes, feedback)."""
        if owner is None or session.conversation_id is None:
            return Exports()
        try:
            chat = self.ui.store(session).get(owner, session.conversation_id)
        except (ConversationStoreError, ConversationNotFoundError, InputError):
            return Exports()
        folder = self.export_dir / chat.id
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        name = _slug(chat.display_title)
        markdown, json_file = folder / f"{name}.md", folder / f"{name}.json"
        markdown.write_text(to_markdown(chat), encoding="utf-8")
        json_file.write_text(to_json(chat), encoding="utf-8")
        return Exports(markdown, json_file)
