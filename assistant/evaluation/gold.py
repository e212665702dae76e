"""The gold set: loading, resolving entry names to knowledge entries, and judging relevance.

Relevance rule, the same for every pipeline (ours, LlamaIndex defaults, BM25): a
passage is relevant to a gold item when it contains the item's verbatim quote *and*
one of the entry's names. Pipelines that chunk differently are therefore scored on
the same evidence, not on our entry ids.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from assistant.knowledge import Entry, load_entries
from assistant.text import normalize

GOLD_PATH = Path(__file__).resolve().parents[2] / "evals" / "gold.jsonl"


@dataclass
class GoldItem:
    entry: Entry
    quote: str


@dataclass
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    relevant: list[GoldItem]
    answer_any: list[str]
    tags: list[str]
    history: list[tuple[str, str]] = field(default_factory=list)
    reference: str = ""


def resolve(name: str, entries: list[Entry], quote: str = "") -> Entry:
    """The entry a gold `entry` string names: an id, a title, or "title|kind"; the quote
    decides between entries that share a title (the article defines some terms twice)."""
    title, _, kind = name.partition("|")
    key = normalize(title)
    matches = [e for e in entries if (e.id == title or normalize(e.title) == key) and (not kind or e.kind == kind)]
    if not matches:
        matches = [e for e in entries if key in {normalize(n) for n in e.names} and (not kind or e.kind == kind)]
    if len(matches) > 1 and quote:
        exact = [e for e in matches if normalize(quote) in {normalize(v) for v in e.fields.values()}]
        matches = exact or [e for e in matches if normalize(quote) in normalize(e.text)] or matches
    if len(matches) != 1:
        raise ValueError(f"gold entry {name!r} matches {len(matches)} entries; add '|kind' or fix the title")
    return matches[0]


def load_gold(path: Path = GOLD_PATH, knowledge_dir: Path | None = None) -> list[GoldQuestion]:
    """Read the gold JSONL and resolve every relevant entry."""
    entries = load_entries(knowledge_dir) if knowledge_dir else load_entries()
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        questions.append(GoldQuestion(
            id=row["id"], question=row["question"], answerable=row["answerable"],
            relevant=[GoldItem(resolve(r["entry"], entries, r["quote"]), r["quote"]) for r in row["relevant"]],
            answer_any=row.get("answer_any", []), tags=row.get("tags", []),
            history=[tuple(t) for t in row.get("history", [])], reference=row.get("reference", "")))
    return questions


def _contains_name(text: str, entry: Entry) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(normalize(n))}(?![\w-])", text) for n in entry.names)


def relevance_sets(passage_texts: list[str], gold: list[GoldItem]) -> list[set[int]]:
    """For each passage, the indexes of the gold items it satisfies."""
    out = []
    for text in passage_texts:
        norm = normalize(text)
        out.append({i for i, item in enumerate(gold) if normalize(item.quote) in norm and _contains_name(norm, item.entry)})
    return out


def ranking_labels(sets: list[set[int]]) -> list[str]:
    """A ranked id list for the standard metrics: a passage counts for the first gold item it
    satisfies that no earlier passage claimed (else repeats one, which de-duplication drops)."""
    claimed: set[int] = set()
    labels = []
    for position, items in enumerate(sets):
        fresh = sorted(items - claimed)
        if fresh:
            claimed.add(fresh[0])
            labels.append(f"g{fresh[0]}")
        elif items:
            labels.append(f"g{min(items)}")
        else:
            labels.append(f"miss{position}")
    return labels
