"""The gold set: loading, resolving entry names to knowledge entries, and judging relevance.

Relevance rule, the same for every pipeline (ours, LlamaIndex defaults, BM25): a
passage is relevant to a gold item when it contains the item's verbatim quote *and*
one of the entry's names. Pipelines that chunk differently are therefore scored on
the same evidence, not on our entry ids.

Splits (evals/README.md): ``dev`` (gold.jsonl and gold-dev-extra.jsonl) is where weights,
thresholds and prompts are tuned; ``test`` (gold-test.jsonl) is only reported and gated on.
A file holds single questions and conversations (``"turns"``); a conversation becomes an
ordered list of turn records, each a :class:`GoldQuestion` with its follow-up flag and subject.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import PROJECT_DIR
from assistant.knowledge import Entry, load_entries
from assistant.text import normalize

EVALS_DIR = PROJECT_DIR / "evals"
GOLD_PATH = EVALS_DIR / "gold.jsonl"
DEV_EXTRA_PATH = EVALS_DIR / "gold-dev-extra.jsonl"
TEST_PATH = EVALS_DIR / "gold-test.jsonl"
# Files of each split; (path, required). The extra dev file is being written and may be absent.
SPLIT_FILES: dict[str, tuple[tuple[Path, bool], ...]] = {
    "dev": ((GOLD_PATH, True), (DEV_EXTRA_PATH, False)),
    "test": ((TEST_PATH, True),),
}
SPLITS = ("dev", "test", "all")


@dataclass
class GoldItem:
    entry: Entry
    quote: str


@dataclass
class GoldQuestion:
    """One scored question: a single question, or one turn of a conversation."""

    id: str
    question: str
    answerable: bool
    relevant: list[GoldItem]
    answer_any: list[str]
    tags: list[str]
    history: list[tuple[str, str]] = field(default_factory=list)  # a written history (dev follow-ups)
    reference: str = ""
    allowed: list[Entry] = field(default_factory=list)  # may be cited without counting as off-topic
    wrong_any: list[str] = field(default_factory=list)  # strings that signal a wrong claim
    split: str = ""
    source: str = ""  # the gold file it came from
    conversation: str = ""  # the conversation's id, for turns
    turn: int = 0  # 1-based position in the conversation; 0 for single questions
    followup: bool | None = None  # turns only: refers back to an earlier turn
    subject: Entry | None = None  # follow-ups: the entry a correct rewrite names

    @property
    def primary(self) -> str:
        """The question's category: its first tag."""
        return self.tags[0] if self.tags else "untagged"

    @property
    def citable(self) -> set[str]:
        """Entry ids an answer may cite: the relevant entries and the allowed ones."""
        return {g.entry.id for g in self.relevant} | {e.id for e in self.allowed}


@dataclass
class Conversation:
    id: str
    tags: list[str]
    turns: list[GoldQuestion]
    split: str = ""
    source: str = ""


@dataclass
class GoldSet:
    """Single questions and conversations of one split (or several), with the files they came from."""

    name: str
    files: dict[str, list[str]]  # split label -> gold files read
    singles: list[GoldQuestion]
    conversations: list[Conversation]

    @property
    def questions(self) -> list[GoldQuestion]:
        """Every scored record: single questions, then conversation turns in order."""
        return self.singles + [t for c in self.conversations for t in c.turns]

    @property
    def labels(self) -> list[str]:
        """The split labels present, in order."""
        return list(dict.fromkeys([q.split for q in self.singles] + [c.split for c in self.conversations]))

    def limited(self, n: int) -> GoldSet:
        """The first `n` single questions and first `n` conversations of each gold file."""
        if not n:
            return self
        files = [f for paths in self.files.values() for f in paths]
        singles = [q for f in files for q in [s for s in self.singles if s.source == f][:n]]
        convs = [c for f in files for c in [c for c in self.conversations if c.source == f][:n]]
        return GoldSet(self.name, self.files, singles, convs)


def resolve(name: str, entries: list[Entry], quote: str = "") -> Entry:
    """The entry a gold `entry` string names: an id (exact, first), a title, an alias, or "title|kind";
    the quote decides between entries that share a title (the article defines some terms twice)."""
    title, _, kind = name.partition("|")
    key = normalize(title)
    by_id = [e for e in entries if e.id == title and (not kind or e.kind == kind)]
    if by_id:  # an id is exact: "beit" is one row although both BEiT rows are titled "BEiT"
        return by_id[0]
    matches = [e for e in entries if normalize(e.title) == key and (not kind or e.kind == kind)]
    named = [e for e in entries if key in {normalize(n) for n in e.names} and (not kind or e.kind == kind)]
    if not matches or quote and not any(normalize(quote) in normalize(e.text) for e in matches):
        # an alias, or the entry whose text holds the quote ("Latent Space" names both the concept and the
        # section "Latent Space: Google search analogy"; the quote says which one is meant)
        near = named + [e for e in entries
                        if re.match(rf"{re.escape(key)}\b", normalize(e.title)) and (not kind or e.kind == kind)]
        holding = [e for e in near if normalize(quote) in normalize(e.text)] if quote else []
        matches = holding or matches or named
    if len(matches) > 1 and quote:
        exact = [e for e in matches if normalize(quote) in {normalize(v) for v in e.fields.values()}]
        matches = exact or [e for e in matches if normalize(quote) in normalize(e.text)] or matches
    if len(matches) != 1:
        raise ValueError(f"gold entry {name!r} matches {len(matches)} entries; add '|kind' or fix the title")
    return matches[0]


def _record(row: dict, entries: list[Entry], id_: str, split: str, source: str, tags: list[str]) -> GoldQuestion:
    relevant = [GoldItem(resolve(r["entry"], entries, r["quote"]), r["quote"]) for r in row["relevant"]]
    # An entry titled as the gold names it stays acceptable when its quote sits in another entry (the concept
    # "Latent Space" and the section "Latent Space: Google search analogy" that follows it in the article).
    titled = [e for r, item in zip(row["relevant"], relevant, strict=True) for e in entries
              if normalize(e.title) == normalize(r["entry"].partition("|")[0]) != normalize(item.entry.title)]
    return GoldQuestion(
        id=id_, question=row["question"], answerable=row["answerable"], relevant=relevant,
        answer_any=row.get("answer_any", []), tags=tags,
        history=[(str(t[0]), str(t[1])) for t in row.get("history", [])], reference=row.get("reference", ""),
        allowed=[*(resolve(name, entries) for name in row.get("allowed", [])), *titled], wrong_any=row.get("wrong_any", []),
        split=split, source=source)


def _turn_tags(turn: dict) -> list[str]:
    """A turn's own tags (out_of_scope / near_domain), else its role in the conversation; always
    also "conversation", and "followup" for follow-ups."""
    own = list(turn.get("tags", []))
    role = ["followup"] if turn.get("followup") else []
    primary = own or role or ["conversation"]
    return list(dict.fromkeys(primary + own + role + ["conversation"]))


def load_file(path: Path, entries: list[Entry], split: str = "") -> tuple[list[GoldQuestion], list[Conversation]]:
    """Single questions and conversations of one gold JSONL file, every entry resolved."""
    singles: list[GoldQuestion] = []
    conversations: list[Conversation] = []
    source = _shown(path)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if "turns" in row:
                turns = []
                for position, turn in enumerate(row["turns"], 1):
                    record = _record(turn, entries, f"{row['id']}.{position}", split, source, _turn_tags(turn))
                    record.conversation, record.turn = row["id"], position
                    record.followup = bool(turn.get("followup", False))
                    record.subject = resolve(turn["subject"], entries) if turn.get("subject") else None
                    turns.append(record)
                conversations.append(Conversation(row["id"], row.get("tags", []), turns, split, source))
            else:
                singles.append(_record(row, entries, row["id"], split, source, row.get("tags", [])))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{path.name} line {number}: {exc}") from exc
    return singles, conversations


def load_gold(path: Path = GOLD_PATH, knowledge_dir: Path | None = None) -> list[GoldQuestion]:
    """Every scored record of one gold file (single questions, then conversation turns)."""
    entries = load_entries(knowledge_dir) if knowledge_dir else load_entries()
    singles, conversations = load_file(path, entries)
    return singles + [t for c in conversations for t in c.turns]


def split_files(name: str) -> list[tuple[str, Path, bool]]:
    """(label, path, required) of the files a split reads; "all" is dev then test."""
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
    labels = ["dev", "test"] if name == "all" else [name]
    return [(label, path, required) for label in labels for path, required in SPLIT_FILES[label]]


def load_split(name: str, extra: Sequence[Path] = (), knowledge_dir: Path | None = None) -> GoldSet:
    """The gold set of a split ("dev", "test" or "all") plus extra files. Extra files join the chosen
    split (with "all" they are labelled "extra"). Ids must be unique across all files read."""
    entries = load_entries(knowledge_dir) if knowledge_dir else load_entries()
    files = [(label, path) for label, path, required in split_files(name) if required or path.exists()]
    files += [(name if name != "all" else "extra", Path(p)) for p in extra]
    gold = GoldSet(name, {}, [], [])
    for label, path in files:
        if not path.exists():
            raise FileNotFoundError(f"gold file {path} not found")
        singles, conversations = load_file(path, entries, label)
        gold.files.setdefault(label, []).append(_shown(path))
        gold.singles += singles
        gold.conversations += conversations
    ids = [q.id for q in gold.singles] + [c.id for c in gold.conversations]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        read = [f for paths in gold.files.values() for f in paths]
        raise ValueError(f"gold ids repeated across {', '.join(read)}: {', '.join(repeated)}")
    return gold


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def stratified_sample(questions: Iterable[GoldQuestion], n: int, seed: int = 0) -> list[GoldQuestion]:
    """`n` questions spread over primary categories: round robin over the categories (sorted),
    each category's questions in a seeded shuffle. Deterministic; returned in the input order."""
    pool = list(questions)
    rng = random.Random(seed)
    groups: dict[str, list[GoldQuestion]] = {}
    for q in pool:
        groups.setdefault(q.primary, []).append(q)
    for members in groups.values():
        rng.shuffle(members)
    chosen: set[str] = set()
    while len(chosen) < min(n, len(pool)):
        for tag in sorted(groups):
            if groups[tag] and len(chosen) < n:
                chosen.add(groups[tag].pop().id)
    return [q for q in pool if q.id in chosen]


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
