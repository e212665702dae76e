"""Rendering: answers, drafts, errors and the source panel as HTML built from escaped text.

Pure functions, tested without a browser. Documents and model output are inert here: no tags,
links, images or template syntax survive (S1, S2).
"""

from __future__ import annotations

import html
import re

from assistant.citations import split_sentences
from assistant.prompts import EXTRACTIVE_NOTICE, echoes_prompt
from assistant.text import QUOTE_VARIANTS
from assistant.types import Answer, Citation, Health

LABELS = {
    "refused": "Not in the sources",
    "extractive": EXTRACTIVE_NOTICE,
    "structured": "Composed from the article's entries, without the LLM",  # lists, creators, definitions, comparisons
    "draft": "Draft — being checked against the sources…",
}
INCOMPLETE = "The model's answer was cut off; only its verified part is shown."
NO_SOURCES = '<div class="ga-sources"><p class="ga-empty">Sources for the answer appear here.</p></div>'

# Characters that Markdown, KaTeX or template engines could act on; html.escape leaves them alone.
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "[]!`${}\\"})
_MARKER = re.compile(r"\[(\d{1,3})\]")
_BULLET = re.compile(r"^\s*[-*•]\s+")
_VARIANTS = tuple(char + variants for char, variants in QUOTE_VARIANTS.items())
# Every character that HTML, templates or Markdown structure (headings, emphasis, tables, rules,
# quotes, lists) could act on, as a numeric entity: one pass over the raw text, so no entity is
# escaped twice.
_PLAIN = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'[]!`${}\\#*_|~>+-=:"})


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
        parts.append(f'<div class="ga-searched">Searched for: {plain(answer.query)}</div>')
    if kind in LABELS:
        parts.append(f'<div class="ga-label">{inert(LABELS[kind])}</div>')
    parts.append(f'<div class="ga-text">{render_text(answer.text, titles)}</div>')
    if answer.incomplete:
        parts.append(f'<div class="ga-incomplete">{inert(INCOMPLETE)}</div>')
    if answer.notice:
        parts.append(f'<div class="ga-notice">{inert(answer.notice)}</div>')
    removed = [s for s in answer.unsupported if not echoes_prompt(s)]  # the model reciting its rules is not shown (S14)
    if removed:
        items = "".join(f"<li>{inert(s)}</li>" for s in removed)
        parts.append(f'<details class="ga-unsupported"><summary>Removed as unsupported ({len(removed)})'
                     f"</summary><ul>{items}</ul></details>")
    parts.append("</div>")
    return "".join(parts)


def render_draft(raw: str) -> str:
    """Unverified model text while it streams (sentences reciting the system prompt left out, S14)."""
    shown = " ".join(s for s in split_sentences(raw) if not echoes_prompt(s)) if raw.strip() else ""
    body = render_text(shown) if shown.strip() else "…"
    label = f'<div class="ga-label">{inert(LABELS["draft"])}</div>'
    return f'<div class="ga-answer ga-draft">{label}<div class="ga-text">{body}</div></div>'


def render_error(message: str) -> str:
    return f'<div class="ga-answer ga-error">⚠ {inert(message)}</div>'


def render_warning(message: str) -> str:
    """Why chats are not being saved (above the conversation list); nothing when they are."""
    return f'<div class="ga-warning" role="alert">⚠ {inert(message)}</div>' if message else ""


def plain(text: str) -> str:
    """Escaped text that no Markdown renderer turns into structure (B8): headings, emphasis, tables,
    rules, quotes, lists and code blocks stay characters; line breaks stay line breaks."""
    escaped = str(text).translate(_PLAIN)
    return "<br>".join(re.sub(r"^ +", lambda m: "&nbsp;" * len(m.group(0)), line) for line in escaped.split("\n"))


def render_user(question: str) -> str:
    return f'<div class="ga-user">{plain(question)}</div>'


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


def render_status(health: Health, embed_model: str = "") -> str:
    """The status line: the LLM's state (and why it is down), the embedding model and the index size."""
    state = {"ready": "ready", "starting": "starting…", "down": "down"}[health.llm_state]
    why = ""
    if health.llm_state == "down" and health.llm_error:
        why = f' <span class="ga-status-error">— {inert(health.llm_error)}</span>'
    embeddings = f"Embeddings: {inert(embed_model)} &nbsp;|&nbsp; " if embed_model else ""
    return (f'<div class="ga-status ga-llm-{inert(health.llm_state)}">LLM: {inert(health.llm_provider)} · '
            f"{inert(health.llm_model)} · <b>{state}</b>{why} &nbsp;|&nbsp; {embeddings}"
            f"Index: {health.index_size:,} passages</div>")
