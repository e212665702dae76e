"""Condense a follow-up ("And who created it?") into a standalone query using the chat history.

Deterministic on purpose: a 135M model rewrites questions unreliably, and the rewritten
query is shown to the user. The subject is the entry most recently named in the history
(user turns first). A pronoun is replaced by it; "that company"/"the same lab" by the
subject's creator; otherwise the subject is appended in parentheses.
"""

from __future__ import annotations

import re

from assistant import prompts
from assistant.retrieval import NameIndex

History = list[tuple[str, str]]

_PRONOUN = re.compile(r"\b(it|its|they|them|their)\b", re.I)
_CREATOR_REF = re.compile(r"\b(that|this|the same|the|its|their)\s+"
                          r"(company|companies|organi[sz]ation|lab|laboratory|firm|maker|creator|developer)\b('s)?", re.I)
_POINTS_BACK = re.compile(r"\b(that|this|those|these|the other|the same|same)\b", re.I)


def _subject(history: History, names: NameIndex) -> str | None:
    for role in ("user", "assistant"):
        for turn_role, text in reversed(history):
            if turn_role == role:
                found = names.find(text)
                if found:
                    return found[0]
    return None


def condense(question: str, history: History | None, names: NameIndex, titles: dict[str, str],
             creators: dict[str, str] | None = None) -> str:
    """A standalone query for `question` given earlier (role, text) turns."""
    if not history:
        return question
    named = names.find(question)
    points_back = bool(_PRONOUN.search(question) or _CREATOR_REF.search(question) or _POINTS_BACK.search(question))
    # "And StyleGAN?" moves on to the entry it names; "How does StyleGAN compare to that?" does not.
    if named and not points_back:
        return question
    entry_id = _subject(history, names)
    if entry_id is None or entry_id in named:
        return question
    subject = titles.get(entry_id, entry_id)
    creator = (creators or {}).get(entry_id)
    if creator and _CREATOR_REF.search(question):
        return _CREATOR_REF.sub(lambda m: creator + ("'s" if m.group(3) else ""), question, count=1)
    if _PRONOUN.search(question):
        return _PRONOUN.sub(lambda m: f"{subject}'s" if m.group(1).lower() in ("its", "their") else subject, question, count=1)
    return prompts.CONDENSE_TEMPLATE.format(question=question.rstrip(" ?"), subject=subject) + "?"
