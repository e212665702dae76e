"""A stored chat as a Markdown document (answers with citations and quotes) or as JSON.

Pure functions over :class:`Conversation` records. The Markdown is safe to open in any viewer:
the person's questions are escaped (shown as typed), and no text from a model or a document can
add raw HTML or load a remote image.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from assistant.conversations.records import REASONS, Conversation, Message

FORMAT = "genai-assistant/conversation"
FORMAT_VERSION = 1

_SPECIAL = re.compile(r"([\\`*_{}\[\]#|!~])")
_LINE_START = re.compile(r"^(\s*|\s*\d+)([-+>=]|(?<=\d)[.)])", re.M)


def escape(text: str) -> str:
    """Plain text shown as typed in Markdown: every structural character escaped, HTML inert."""
    text = _SPECIAL.sub(r"\\\1", text).replace("<", "&lt;")
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def inert(text: str) -> str:
    """Model or document Markdown kept readable, but without raw HTML or images."""
    return text.replace("<", "&lt;").replace("![", "!\\[")


def _quote_block(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines() or [""])


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _answer(message: Message) -> list[str]:
    answer = message.answer
    if answer is None:
        return [inert(message.text), ""]
    label = {"extractive": "quoted from the sources (the language model was not used)",
             "refused": "not answered from the sources", "structured": "from the model table"}.get(answer.mode, "")
    out = [f"**Answer**{f' ({label})' if label else ''}:", "", inert(answer.text), ""]
    if answer.query:
        out += [f"*Searched for:* {escape(answer.query)}", ""]
    if answer.notice:
        out += [f"*Note:* {inert(answer.notice)}", ""]
    if answer.incomplete:
        out += ["*This answer was cut short.*", ""]
    if answer.citations:
        out += ["**Sources**", ""]
        for c in answer.citations:
            where = f" — {escape(c.section)}" if c.section else ""
            out += [f"- **[{c.number}] {escape(c.title)}**{where}", f"  > “{escape(' '.join(c.quote.split()))}”"]
        out.append("")
    elif answer.refused and answer.passages:
        out += ["**Closest passages** (none answers the question)", ""]
        out += [f"- {escape(p.title)}" for p in answer.passages[:5]] + [""]
    if message.feedback:
        vote = "👍" if message.feedback.vote == "up" else "👎"
        reason = REASONS.get(message.feedback.reason or "", "")
        out += [f"*Your feedback:* {vote}{' — ' + reason if reason else ''}", ""]
    return out


def to_markdown(conversation: Conversation) -> str:
    """The chat as Markdown: each question, its answer, and the answer's sources with quotes."""
    lines = [f"# {escape(conversation.display_title)}", "",
             f"*Started {_when(conversation.created_at)}; exported {_when(datetime.now(UTC))}.*", ""]
    number = 0
    for message in conversation.messages:
        if message.role == "user":
            number += 1
            lines += [f"## Question {number}", "", _quote_block(escape(message.text)), ""]
        else:
            lines += _answer(message)
    return "\n".join(lines).rstrip() + "\n"


def to_json(conversation: Conversation) -> str:
    """The chat as one JSON document: every message with its answer's fields and feedback (no owner)."""
    document = {"format": FORMAT, "version": FORMAT_VERSION, "exported_at": datetime.now(UTC).isoformat(),
                **conversation.to_dict()}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
