"""Validate evals/gold.jsonl against its format and against the article it is about."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "evals" / "gold.jsonl"
ARTICLE_CANDIDATES = (
    ROOT / "knowledge" / "source" / "generative-ai-all-you-need-to-know.txt",
    ROOT.parent / "shared" / "seed" / "000_544a29dc4176126b.txt",
)

ALLOWED_TAGS = {
    "glossary",
    "paraphrase",
    "model",
    "enumeration",
    "comparison",
    "section",
    "followup",
    "unanswerable",
    "out_of_scope",
    "near_domain",
    "quirk",
}
# Minimum number of questions per tag (the gold set's stated mix).
MIN_PER_TAG = {
    "glossary": 20,
    "paraphrase": 10,
    "model": 12,
    "enumeration": 5,
    "comparison": 5,
    "section": 8,
    "followup": 5,
    "unanswerable": 14,
    "quirk": 4,
}
REQUIRED = {"id": str, "question": str, "answerable": bool, "relevant": list,
            "answer_any": list, "tags": list}
OPTIONAL = {"history": list, "reference": str}
KINDS = {"model", "glossary"}

# Paragraphs that continue the entry above them although they look like "Term: ...".
CONTINUATION_PREFIXES = ("Analogy:", "Example:", "•", "Let me ")
# Explanatory sections whose first paragraph opens with the term and no colon.
LEAD_TERMS = ("Conditional Generation", "Multimodal generation", "Diffusion models",
              "Transformers")
# "Term: definition"; a dot is allowed inside the term when no space follows it ("SD1.5").
TERM_COLON = re.compile(r"^((?:[^:.?]|\.(?=\S)){2,80}):(?:\s|$)")
NUMBERING = re.compile(r"^\d+\.\s+")
# Model rows that lack the Creator cell in the article.
SHORT_ROWS = {"LangChain"}


def norm(text: str) -> str:
    return " ".join(text.split())


@lru_cache(maxsize=1)
def article_lines() -> tuple[str, ...]:
    for path in ARTICLE_CANDIDATES:
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            return tuple(line.strip() for line in lines if line.strip())
    pytest.fail(f"article not found; looked in {[str(p) for p in ARTICLE_CANDIDATES]}")


def table_bounds(lines: tuple[str, ...]) -> tuple[int, int]:
    """Index of the first cell after the header row, and of the first line after the table."""
    for i in range(len(lines) - 2):
        if lines[i : i + 3] == ("Name", "Creator", "Generates"):
            start = i + 3
            break
    else:
        pytest.fail("model table header (Name / Creator / Generates) not found")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Key Components"))
    return start, end


@lru_cache(maxsize=1)
def table_rows() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(name, cells) per model row; cells are (creator, generates).

    The LangChain row has no creator cell, so rows listed in SHORT_ROWS carry only
    (generates,).
    """
    lines = article_lines()
    start, end = table_bounds(lines)
    cells, rows, i = lines[start:end], [], 0
    while i < len(cells):
        width = 2 if cells[i] in SHORT_ROWS else 3
        rows.append((cells[i], tuple(cells[i + 1 : i + width])))
        i += width
    return tuple(rows)


def model_rows(name: str) -> list[tuple[str, ...]]:
    """The (creator, generates) cells of every row named `name` (BEiT has two rows)."""
    return [cells for row_name, cells in table_rows() if row_name == name]


@lru_cache(maxsize=1)
def prose_entries() -> tuple[tuple[str, str], ...]:
    """(title, text) for every non-table entry, in article order; titles may repeat."""
    lines = article_lines()
    t_start, t_end = table_bounds(lines)
    prose = lines[: t_start - 3] + lines[t_end:]
    entries: list[list[str]] = []
    for line in prose:
        body = NUMBERING.sub("", line)
        title = None
        if not body.startswith(CONTINUATION_PREFIXES):
            lead = next((t for t in LEAD_TERMS if body.startswith(t + " ")), None)
            match = TERM_COLON.match(body)
            if match:
                title = match.group(1).strip()
            elif lead:
                title = lead
            elif len(body) <= 80 and not body.endswith("."):
                title = body.rstrip(":").strip()
        if title is not None:
            entries.append([title, line])
        elif entries:
            entries[-1][1] += " " + line
    return tuple((norm(title), norm(text)) for title, text in entries)


def all_model_names() -> set[str]:
    return {name for name, _ in table_rows()}


def split_entry(entry: str) -> tuple[str, str | None]:
    title, _, kind = entry.partition("|")
    return title, (kind or None)


@lru_cache(maxsize=1)
def gold() -> list[dict]:
    rows = []
    for n, line in enumerate(GOLD.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - reported as failure
            pytest.fail(f"line {n} is not valid JSON: {exc}")
    return rows


def by_tag(tag: str) -> list[dict]:
    return [q for q in gold() if tag in q["tags"]]


# --- format -----------------------------------------------------------------------------


def test_every_line_parses_and_has_required_keys():
    for q in gold():
        for key, typ in REQUIRED.items():
            assert isinstance(q.get(key), typ), f"{q.get('id')}: {key} missing or not {typ}"
        for key, typ in OPTIONAL.items():
            if key in q:
                assert isinstance(q[key], typ), f"{q['id']}: {key} is not {typ}"
        assert set(q) <= set(REQUIRED) | set(OPTIONAL), f"{q['id']}: unknown keys"
        assert q["question"].strip(), q["id"]
        assert all(isinstance(a, str) and a.strip() for a in q["answer_any"]), q["id"]
        if "reference" in q:
            assert q["reference"].strip(), q["id"]
        for rel in q["relevant"]:
            assert set(rel) == {"entry", "quote"}, q["id"]
            assert isinstance(rel["entry"], str) and isinstance(rel["quote"], str), q["id"]


def test_ids_unique_and_sequential():
    ids = [q["id"] for q in gold()]
    assert ids == [f"g{i:03d}" for i in range(1, len(ids) + 1)]


def test_size_and_unanswerable_share():
    rows = gold()
    unanswerable = [q for q in rows if not q["answerable"]]
    assert len(rows) >= 80
    assert len(unanswerable) >= 12
    # EVALS.md: 10-20 % unanswerable.
    assert 0.10 <= len(unanswerable) / len(rows) <= 0.20


def test_questions_are_not_duplicated():
    counts = Counter(norm(q["question"]).lower() for q in gold() if "history" not in q)
    assert [q for q, c in counts.items() if c > 1] == []


def test_answerable_flag_is_consistent():
    for q in gold():
        if q["answerable"]:
            assert q["relevant"], f"{q['id']}: answerable needs >= 1 relevant"
            assert q["answer_any"], f"{q['id']}: answerable needs answer aliases"
            assert "unanswerable" not in q["tags"], q["id"]
        else:
            assert q["relevant"] == [], f"{q['id']}: unanswerable must have empty relevant"
            assert q["answer_any"] == [], f"{q['id']}: unanswerable must have empty answer_any"
            assert "unanswerable" in q["tags"], q["id"]
            assert "reference" not in q, q["id"]
            assert {"out_of_scope", "near_domain"} & set(q["tags"]), q["id"]


def test_most_answerable_have_a_reference():
    answerable = [q for q in gold() if q["answerable"]]
    with_ref = [q for q in answerable if "reference" in q]
    assert len(with_ref) >= 0.8 * len(answerable)


# --- tags and mix -----------------------------------------------------------------------


def test_tags_from_allowed_set():
    for q in gold():
        assert q["tags"], q["id"]
        assert len(set(q["tags"])) == len(q["tags"]), f"{q['id']}: repeated tag"
        assert set(q["tags"]) <= ALLOWED_TAGS, f"{q['id']}: {set(q['tags']) - ALLOWED_TAGS}"


@pytest.mark.parametrize("tag,minimum", sorted(MIN_PER_TAG.items()))
def test_category_minimums(tag, minimum):
    assert len(by_tag(tag)) >= minimum


def test_both_kinds_of_unanswerable_present():
    assert len(by_tag("out_of_scope")) >= 4
    assert len(by_tag("near_domain")) >= 6


def test_comparisons_cite_two_entries():
    for q in by_tag("comparison"):
        assert len({r["entry"] for r in q["relevant"]}) >= 2, q["id"]


def test_enumerations_list_several_rows():
    for q in by_tag("enumeration"):
        assert len(q["relevant"]) >= 2, q["id"]


def test_enumerations_over_one_cell_value_are_complete():
    """If every relevant row is cited by the same cell (e.g. "NVIDIA"), all such rows are listed."""
    checked = 0
    for q in by_tag("enumeration"):
        rels = q["relevant"]
        quotes = {r["quote"] for r in rels}
        if len(quotes) != 1 or any(split_entry(r["entry"])[1] == "glossary" for r in rels):
            continue
        names = {split_entry(r["entry"])[0] for r in rels}
        if not names <= all_model_names():
            continue
        (value,) = quotes
        expected = {n for n in all_model_names() if any(value in row for row in model_rows(n))}
        assert names == expected, f"{q['id']}: missing {expected - names}, extra {names - expected}"
        checked += 1
    assert checked >= 3


def test_followups_have_alternating_history():
    for q in by_tag("followup"):
        history = q.get("history")
        assert history, f"{q['id']}: follow-up without history"
        roles = []
        for turn in history:
            assert isinstance(turn, list) and len(turn) == 2, q["id"]
            role, text = turn
            assert role in {"user", "assistant"} and isinstance(text, str) and text.strip()
            roles.append(role)
        expected = ["user", "assistant"] * (len(roles) // 2)
        assert roles == expected, f"{q['id']}: roles must alternate user/assistant"
    for q in gold():
        if "history" in q:
            assert "followup" in q["tags"], q["id"]


# --- relevance marks against the article ------------------------------------------------


def test_every_quote_is_verbatim_in_the_article():
    article = norm(" ".join(article_lines()))
    for q in gold():
        for rel in q["relevant"]:
            assert norm(rel["quote"]) in article, f"{q['id']}: quote not in article: {rel['quote']!r}"


def test_entries_exist_and_quotes_sit_in_their_entry():
    models = all_model_names()
    prose = prose_entries()
    prose_titles = {t for t, _ in prose}
    for q in gold():
        for rel in q["relevant"]:
            title, kind = split_entry(rel["entry"])
            title, quote = norm(title), norm(rel["quote"])
            assert kind in KINDS | {None}, f"{q['id']}: unknown kind {kind!r}"
            in_table, in_prose = title in models, title in prose_titles
            assert in_table or in_prose, f"{q['id']}: no entry titled {title!r}"
            if kind is None:
                assert not (in_table and in_prose), f"{q['id']}: {title!r} is ambiguous, add |kind"
                kind = "model" if in_table else "glossary"
            if kind == "model":
                assert in_table, f"{q['id']}: {title!r} is not a model row"
                cells = [norm(c) for row in model_rows(title) for c in row]
                assert quote in cells, f"{q['id']}: {quote!r} is not a cell of row {title!r}"
            else:
                assert in_prose, f"{q['id']}: {title!r} is not a glossary/section entry"
                assert len(quote.split()) >= 4, f"{q['id']}: quote shorter than 4 words"
                texts = [text for t, text in prose if t == title]
                assert any(quote in text for text in texts), (
                    f"{q['id']}: quote not inside entry {title!r}: {quote!r}"
                )


def test_article_segmentation_sanity():
    """Guards the helpers above: known entries, quirks and the table size."""
    titles = [t for t, _ in prose_entries()]
    for expected in ("Adversarial Training", "Diffusion models", "Transformers", "Latent Space",
                     "Conditional Generation", "Textural Inversion", "Beam Search",
                     "Challenges and Ethical Considerations", "What is Generative AI?",
                     "Transfer Learning in Generative AI", "Controlled Generation"):
        assert expected in titles, expected
    assert titles.count("Capsule Networks (CapsNets)") == 2
    assert "Analogy" not in titles and "Example" not in titles
    assert len(model_rows("BEiT")) == 2
    assert model_rows("LangChain") == [("Text, Data Analysis",)]
    assert len(table_rows()) == 87
    assert all(len(cells) == 2 for name, cells in table_rows() if name not in SHORT_ROWS)
    assert {"Whisper", "Whisper AI", "YOLO (You Only Look Once)"} <= all_model_names()
