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


# --- the split files in the new format (evals/README.md, "Test split") ---------------------------
# gold-test.jsonl (held out) and gold-dev-extra.jsonl (dev); checked against the knowledge entries
# the assistant indexes, through the loader the eval uses.

TEST_GOLD = ROOT / "evals" / "gold-test.jsonl"
DEV_EXTRA = ROOT / "evals" / "gold-dev-extra.jsonl"
NEW_FORMAT = [TEST_GOLD, DEV_EXTRA]
NEW_TAGS = ALLOWED_TAGS | {"relation", "why_how", "noise", "definition", "concept", "conversation"}
TURN_TAGS = {"out_of_scope", "near_domain"}
SINGLE_KEYS = {"id": str, "question": str, "answerable": bool, "relevant": list, "allowed": list,
               "answer_any": list, "tags": list}
SINGLE_OPTIONAL = {"reference": str, "wrong_any": list}
TURN_KEYS = {"question": str, "answerable": bool, "relevant": list, "allowed": list, "answer_any": list, "followup": bool}
TURN_OPTIONAL = {"reference": str, "wrong_any": list, "subject": str, "tags": list}


def rows_of(path: Path) -> list[dict]:
    assert path.exists(), f"{path.name} is missing: both gold splits are part of the project"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def records(path: Path) -> list[tuple[str, dict]]:
    """(id, question record) for single questions and every conversation turn ("c001.2")."""
    out = []
    for row in rows_of(path):
        if "turns" in row:
            out += [(f"{row['id']}.{i}", turn) for i, turn in enumerate(row["turns"], 1)]
        else:
            out.append((row["id"], row))
    return out


@lru_cache(maxsize=1)
def knowledge_entries():
    from assistant.knowledge import load_entries

    return load_entries()


def entries_of(q: dict) -> list:
    from assistant.evaluation.gold import resolve

    return [resolve(r["entry"], knowledge_entries(), r["quote"]) for r in q["relevant"]]


def _types_ok(record: dict, required: dict, optional: dict, where: str) -> None:
    for key, typ in required.items():
        assert isinstance(record.get(key), typ), f"{where}: {key} missing or not {typ.__name__}"
    for key, typ in optional.items():
        if key in record:
            assert isinstance(record[key], typ), f"{where}: {key} is not {typ.__name__}"
    assert set(record) <= set(required) | set(optional), f"{where}: unknown keys {set(record) - set(required) - set(optional)}"


@pytest.mark.parametrize("path", NEW_FORMAT, ids=lambda p: p.name)
def test_new_format_keys_and_shapes(path):
    for row in rows_of(path):
        if "turns" in row:
            assert set(row) == {"id", "tags", "turns"} and "conversation" in row["tags"], row["id"]
            assert 3 <= len(row["turns"]) <= 5, row["id"]
            for i, turn in enumerate(row["turns"], 1):
                _types_ok(turn, TURN_KEYS, TURN_OPTIONAL, f"{row['id']}.{i}")
        else:
            _types_ok(row, SINGLE_KEYS, SINGLE_OPTIONAL, row["id"])
            assert row["tags"] and set(row["tags"]) <= NEW_TAGS, f"{row['id']}: {set(row['tags']) - NEW_TAGS}"
    for id_, q in records(path):
        assert q["question"].strip(), id_
        for rel in q["relevant"]:
            assert set(rel) == {"entry", "quote"}, id_
        assert all(isinstance(a, str) and a.strip() for a in q["answer_any"] + q.get("wrong_any", [])), id_


@pytest.mark.parametrize("path", NEW_FORMAT, ids=lambda p: p.name)
def test_new_format_answerable_flag_is_consistent(path):
    for id_, q in records(path):
        if q["answerable"]:
            assert q["relevant"] and q["answer_any"], f"{id_}: answerable needs relevant entries and aliases"
        else:
            assert q["relevant"] == [] and q["answer_any"] == [] and q["allowed"] == [], id_
            assert "reference" not in q, id_
            tags = q.get("tags", [])
            assert TURN_TAGS & set(tags), f"{id_}: an unanswerable question is out_of_scope or near_domain"
    for row in rows_of(path):
        if "turns" not in row:
            assert ("unanswerable" in row["tags"]) == (not row["answerable"]), row["id"]


@pytest.mark.parametrize("path", NEW_FORMAT, ids=lambda p: p.name)
def test_new_format_entries_resolve_and_quotes_are_verbatim_in_the_material(path):
    from assistant.evaluation.gold import resolve

    for id_, q in records(path):
        for rel, entry in zip(q["relevant"], entries_of(q), strict=True):
            assert norm(rel["quote"]) in norm(entry.text), f"{id_}: quote not in {entry.id}: {rel['quote']!r}"
        relevant = {e.id for e in entries_of(q)}
        for name in q["allowed"]:
            assert resolve(name, knowledge_entries()).id not in relevant, f"{id_}: {name!r} is relevant, not only allowed"


@pytest.mark.parametrize("path", NEW_FORMAT, ids=lambda p: p.name)
def test_new_format_aliases_in_relevant_entries_and_wrong_strings_not(path):
    from assistant.text import normalize

    for id_, q in records(path):
        entries = entries_of(q)
        material = " ".join(normalize(x) for e in entries for x in (e.text, *e.names, *e.fields.values()))
        for alias in q["answer_any"]:
            assert normalize(alias) in material, f"{id_}: alias {alias!r} is in no relevant entry"
        texts = " ".join(normalize(e.text) for e in entries)
        for wrong in q.get("wrong_any", []):
            assert normalize(wrong) not in texts, f"{id_}: wrong_any {wrong!r} occurs in a relevant entry"


@pytest.mark.parametrize("path", NEW_FORMAT, ids=lambda p: p.name)
def test_conversation_turns_follow_up_with_a_resolvable_subject(path):
    from assistant.evaluation.gold import resolve

    for row in rows_of(path):
        for i, turn in enumerate(row.get("turns", []), 1):
            where = f"{row['id']}.{i}"
            assert set(turn.get("tags", [])) <= TURN_TAGS, where
            if i == 1:
                assert turn["followup"] is False, f"{where}: a first turn cannot follow up"
            if turn["followup"]:
                assert turn.get("subject"), f"{where}: a follow-up names its subject"
                resolve(turn["subject"], knowledge_entries())
            else:
                assert "subject" not in turn, f"{where}: only follow-ups have a subject"


@pytest.mark.parametrize("path", NEW_FORMAT, ids=lambda p: p.name)
def test_new_format_unanswerable_share_and_no_repeated_questions(path):
    singles = [r for r in rows_of(path) if "turns" not in r]
    share = sum(not r["answerable"] for r in singles) / len(singles)
    assert 0.10 <= share <= 0.20
    # Follow-ups ("And who made it?") may repeat: their text means nothing without the turns before.
    counts = Counter(norm(q["question"]).lower() for _, q in records(path) if not q.get("followup"))
    assert [q for q, c in counts.items() if c > 1] == []


def test_ids_unique_across_gold_files():
    ids = [q["id"] for q in gold()]
    for path in NEW_FORMAT:
        if path.exists():
            ids += [r["id"] for r in rows_of(path)]
    assert [i for i, c in Counter(ids).items() if c > 1] == []


def test_dev_and_test_share_no_question():
    """A test question that also sits in dev would be tuned on; follow-ups are compared through
    the turns before them (their own text, "Who made it?", means nothing alone)."""
    dev = {norm(q["question"]).lower(): q["id"] for q in gold()}
    if DEV_EXTRA.exists():
        dev |= {norm(q["question"]).lower(): id_ for id_, q in records(DEV_EXTRA) if not q.get("followup")}
    shared = [f"{id_} = {dev[norm(q['question']).lower()]}" for id_, q in records(TEST_GOLD)
              if not q.get("followup") and norm(q["question"]).lower() in dev]
    assert shared == [], "test questions repeated in dev: " + ", ".join(shared)


def test_splits_load_through_the_eval_loader():
    from assistant.evaluation.gold import load_split

    test = load_split("test")
    assert len(test.singles) == len([r for r in rows_of(TEST_GOLD) if "turns" not in r])
    assert all(t.followup is not None for c in test.conversations for t in c.turns)
    assert all(t.subject is not None for c in test.conversations for t in c.turns if t.followup)
    every = load_split("all")
    assert every.labels == ["dev", "test"] and len(every.questions) == len(load_split("dev").questions) + len(test.questions)
