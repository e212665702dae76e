"""The structured knowledge is complete against the article, keeps its wording, and loads safely.

The article is parsed here on its own (not with knowledge/build_from_seed.py), so a bug in the
conversion script cannot hide itself.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest

from assistant.knowledge import KINDS, Entry, KnowledgeError, load_entries

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = REPO / "knowledge"
SOURCE = KNOWLEDGE / "source" / "generative-ai-all-you-need-to-know.txt"
SEED = REPO.parent / "shared" / "seed" / "000_544a29dc4176126b.txt"

CHROME_LINE = "Skip to content Skip to footer"
ROW_WITHOUT_CREATOR = "LangChain"  # its table row has two cells: name, generates
# Titles we gave to entries that have no heading of their own in the article.
TITLES_NOT_IN_ARTICLE = {"AI models table", "Latent Space: Google search analogy"}


def norm(text: str) -> str:
    """Collapse all whitespace (including no-break spaces) to single spaces."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return load_entries(KNOWLEDGE)


@pytest.fixture(scope="module")
def source_text() -> str:
    return SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def lines(source_text: str) -> list[str]:
    """The article's non-empty lines, indentation stripped."""
    return [line.strip() for line in source_text.split("\n") if line.strip()]


def table_bounds(lines: list[str]) -> tuple[int, int]:
    """Index of the "Name" header cell and of the first line after the table."""
    start = lines.index("Name")
    assert lines[start:start + 3] == ["Name", "Creator", "Generates"]
    end = next(i for i, line in enumerate(lines) if line.startswith("Key Components of Generative AI"))
    return start, end


def table_rows(lines: list[str]) -> list[tuple[str, str, str]]:
    start, end = table_bounds(lines)
    cells, rows = lines[start + 3:end], []
    while cells:
        name = cells.pop(0)
        creator = "" if name == ROW_WITHOUT_CREATOR else cells.pop(0)
        rows.append((name, creator, cells.pop(0)))
    return rows


def numbered_concepts(lines: list[str]) -> list[tuple[int, str, str]]:
    start = lines.index("Generative AI Concepts:")
    end = next(i for i, line in enumerate(lines) if line.startswith("Let me give you an analogy"))
    concepts = []
    for line in lines[start + 1:end]:
        m = re.fullmatch(r"(\d+)\. (.+)", line)
        if m:
            body = m.group(2)
            if ": " in body:
                title, text = body.split(": ", 1)
            else:  # "Conditional Generation means ..." has no colon
                title, text = body.split(" means ", 1)[0], body
            concepts.append((int(m.group(1)), title, text))
    return concepts


def glossary_lines(lines: list[str]) -> list[tuple[str, str]]:
    start = next(i for i, line in enumerate(lines) if line.startswith("Embedding Spaces: "))
    end = lines.index("Challenges and Ethical Considerations:")
    return [tuple(line.split(": ", 1)) for line in lines[start:end]]  # type: ignore[misc]


def by_id(entries: list[Entry]) -> dict[str, Entry]:
    return {e.id: e for e in entries}


# --- provenance ---------------------------------------------------------------------------

SEED_SHA256 = "9e0f339ca3b4b168c7c18429edc1e08613deaa5787d128fc4e04fbb2dae3eab2"  # of the shared seed article


def test_source_copy_is_byte_identical_to_seed():
    """The committed copy is the seed, byte for byte: by digest in any clone, and directly where the seed sits beside it."""
    assert hashlib.sha256(SOURCE.read_bytes()).hexdigest() == SEED_SHA256
    if SEED.exists():
        assert SOURCE.read_bytes() == SEED.read_bytes()


# --- completeness against the article -------------------------------------------------------

def test_every_table_row_is_a_model_entry_in_article_order(entries, lines):
    rows = table_rows(lines)
    assert len(rows) == 87
    models = [e for e in entries if e.kind == "model"]
    assert [(e.title, e.fields["creator"], e.fields["generates"]) for e in models] == rows
    for e in models:
        assert e.section == "AI models table"
        assert e.text.startswith(e.title + " — creator: ")


def test_every_numbered_concept_has_its_number_and_verbatim_text(entries, lines):
    concepts = numbered_concepts(lines)
    assert [n for n, _, _ in concepts] == list(range(1, 23))
    numbered = {e.fields["number"]: e for e in entries if "number" in e.fields}
    assert sorted(numbered, key=int) == [str(n) for n in range(1, 23)]
    for number, title, text in concepts:
        entry = numbered[str(number)]
        assert (entry.kind, entry.section) == ("concept", "Generative AI Concepts")
        assert norm(entry.title) == norm(title)
        assert entry.text == text


def test_every_glossary_line_is_an_entry_with_verbatim_text(entries, lines):
    expected = glossary_lines(lines)
    assert len(expected) == 63
    glossary = [(e.title, e.text) for e in entries if e.kind == "glossary"]
    assert Counter(glossary) == Counter(expected)
    assert all(e.section == "Glossary" for e in entries if e.kind == "glossary")


def test_every_content_line_of_the_article_is_in_some_entry(entries, lines):
    start, end = table_bounds(lines)
    haystacks = [norm(e.text) for e in entries] + [norm(f"{e.title}: {e.text}") for e in entries]
    headings = {norm(e.title) for e in entries} | {norm(e.section) for e in entries}
    missing = []
    for i, line in enumerate(lines):
        if line == CHROME_LINE or start <= i < end:
            continue
        line = norm(re.sub(r"^(•|\d+\.)\s*", "", line))
        if line.rstrip(":") in headings:
            continue
        if not any(line in haystack for haystack in haystacks):
            missing.append(line)
    assert missing == []


def test_entry_wording_is_verbatim_from_the_article(entries, source_text):
    source_norm = norm(source_text)
    for e in entries:
        if e.kind == "model":
            continue
        for line in e.text.split("\n"):
            assert line in source_text, (e.id, line)
        assert e.title in TITLES_NOT_IN_ARTICLE or norm(e.title) in source_norm, e.id


def test_multi_paragraph_sections_keep_blank_lines_between_paragraphs(entries):
    entry = by_id(entries)["transformers"]
    paragraphs = entry.text.split("\n\n")
    assert len(paragraphs) == 16
    assert paragraphs[0].startswith("Transformers are a type of neural network architecture")
    assert "complex dance routine" in paragraphs[9]
    challenges = by_id(entries)["challenges-and-ethical-considerations"].text.split("\n\n")
    assert challenges[1].startswith("Generative AI stands at the forefront")


def test_counts_per_kind(entries):
    counts = Counter(e.kind for e in entries)
    assert counts == {"model": 87, "concept": 24, "section": 26, "glossary": 63}


# --- quirks ------------------------------------------------------------------------------

def test_beit_is_listed_twice_and_both_rows_are_kept(entries):
    beit = [e for e in entries if e.title == "BEiT"]
    assert [(e.id, e.fields["generates"]) for e in beit] == [
        ("beit", "Image"), ("beit-2", "Image Representation")]
    assert "beit-2" in beit[0].note and "beit" in beit[1].note


def test_whisper_and_whisper_ai_are_separate_rows(entries):
    entry = by_id(entries)
    assert entry["whisper"].fields == entry["whisper-ai"].fields
    assert "whisper-ai" in entry["whisper"].note and "(whisper)" in entry["whisper-ai"].note


def test_langchain_has_no_creator(entries):
    langchain = by_id(entries)["langchain"]
    assert langchain.fields == {"creator": "", "generates": "Text, Data Analysis"}
    assert langchain.note == "The article gives no creator (its table row has only two cells)."
    assert "creator: none listed" in langchain.text


def test_capsule_networks_is_defined_twice(entries):
    caps = [e for e in entries if e.title == "Capsule Networks (CapsNets)"]
    assert [e.id for e in caps] == ["capsule-networks-capsnets", "capsule-networks-capsnets-2"]
    assert caps[0].text != caps[1].text and all(e.note for e in caps)


def test_key_components_are_concepts_without_numbers(entries):
    key = [e for e in entries if e.section == "Key Components of Generative AI"]
    assert [(e.title, e.kind) for e in key] == [("Generative Models", "concept"), ("Training Data", "concept")]
    assert all("number" not in e.fields and '"1."' in e.note for e in key)


def test_latent_space_concept_and_google_analogy_are_separate(entries):
    entry = by_id(entries)
    assert entry["latent-space"].fields == {"number": "22"}
    assert "Google" not in entry["latent-space"].text
    analogy = entry["latent-space-google-search-analogy"]
    assert analogy.kind == "section" and "• Google caching websites" in analogy.text
    assert analogy.text.endswith("just as Google can retrieve relevant information from its indexing.")


def test_odd_definitions_keep_the_article_wording_and_say_so(entries):
    entry = by_id(entries)
    assert entry["safetensor"].text.startswith("A security mechanism")
    assert entry["deforum"].text.startswith("A website or platform")
    assert entry["textural-inversion"].title == "Textural Inversion"
    for id_ in ("safetensor", "deforum", "textural-inversion", "clipper", "conditional-generation"):
        assert entry[id_].note, id_


def test_ids_are_unique_slugs(entries):
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", i) for i in ids)
    assert all(e.kind in KINDS for e in entries)


@pytest.mark.parametrize("name, expected", [
    ("YOLO", {"yolo-you-only-look-once", "yolo-you-only-look-once-glossary"}),
    ("VAE", {"variational-autoencoders-vaes"}),
    ("Variational Autoencoder", {"variational-autoencoders-vaes"}),
    ("Textual Inversion", {"textural-inversion"}),
    ("DALL-E", {"dall-e"}),
    ("DALL·E", {"dall-e"}),
    ("DALL-E Mini", {"craiyon-dall-e-mini"}),
    ("Craiyon", {"craiyon-dall-e-mini"}),
    ("GPT-4", {"gpt-3-gpt-4"}),
    ("ESRGAN", {"esrgan-enhanced-super-resolution-generative-adversarial-network"}),
    ("PanGu-α", {"pangu-alpha"}),
    ("ViT", {"vit-vision-transformer"}),
    ("BERT", {"bert", "bidirectional-encoder-representations-from-transformers-bert"}),
    ("XAI", {"xai-explainable-artificial-intelligence"}),
])
def test_names_resolve_to_the_expected_entries(entries, name, expected):
    found = {e.id for e in entries if name.casefold() in (n.casefold() for n in e.names)}
    assert found == expected


def test_only_deliberate_names_are_shared_between_entries(entries):
    owners: dict[str, set[str]] = {}
    for e in entries:
        for name in e.names:
            owners.setdefault(name.casefold(), set()).add(e.id)
    shared = {name for name, ids in owners.items() if len(ids) > 1}
    assert shared == {"beit", "yolo (you only look once)", "yolo", "you only look once", "bert",
                      "capsule networks (capsnets)", "capsule networks", "capsnets"}


# --- loader ------------------------------------------------------------------------------

ENTRY_YAML = """\
- id: {id}
  title: Some title
  kind: {kind}
  section: Glossary
  aliases: []
  text: |
    Some text.
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_duplicate_id_across_files_names_both_files(tmp_path):
    write(tmp_path / "a.yaml", ENTRY_YAML.format(id="same", kind="glossary"))
    write(tmp_path / "b.yaml", ENTRY_YAML.format(id="same", kind="concept"))
    with pytest.raises(KnowledgeError, match="same") as info:
        load_entries(tmp_path)
    assert "a.yaml" in str(info.value) and "b.yaml" in str(info.value)


def test_duplicate_id_between_models_csv_and_yaml(tmp_path):
    write(tmp_path / "models.csv", "id,name,creator,generates,aliases,note\nsame,Same,,Text,,\n")
    write(tmp_path / "glossary.yaml", ENTRY_YAML.format(id="same", kind="glossary"))
    with pytest.raises(KnowledgeError, match=r"models\.csv.*glossary\.yaml"):
        load_entries(tmp_path)


def test_bad_kind_is_rejected(tmp_path):
    write(tmp_path / "a.yaml", ENTRY_YAML.format(id="x", kind="article"))
    with pytest.raises(KnowledgeError, match="kind 'article'"):
        load_entries(tmp_path)


def test_missing_directory_is_rejected(tmp_path):
    with pytest.raises(KnowledgeError, match="not found"):
        load_entries(tmp_path / "nope")


@pytest.mark.parametrize("text, message", [
    (ENTRY_YAML.format(id="Bad_Id", kind="glossary"), "ids may use only"),
    (ENTRY_YAML.format(id="x", kind="glossary").replace("  text: |\n    Some text.\n", ""), "text"),
    (ENTRY_YAML.format(id="x", kind="glossary").replace("aliases:", "alias:"), "unknown key"),
    ("- id: x\n  title: [unclosed\n", "not valid YAML"),
    ("id: x\n", "YAML list"),
])
def test_malformed_yaml_entries_are_rejected(tmp_path, text, message):
    write(tmp_path / "a.yaml", text)
    with pytest.raises(KnowledgeError, match=message):
        load_entries(tmp_path)


def test_bad_models_csv_is_rejected(tmp_path):
    write(tmp_path / "models.csv", "id,name,creator\nx,X,Y\n")
    with pytest.raises(KnowledgeError, match="header"):
        load_entries(tmp_path)
    write(tmp_path / "models.csv", "id,name,creator,generates,aliases,note\nx,X,Y\n")
    with pytest.raises(KnowledgeError, match="line 2"):
        load_entries(tmp_path)


def test_non_utf8_file_is_rejected(tmp_path):
    (tmp_path / "models.csv").write_bytes(
        "id,name,creator,generates,aliases,note\ndall-e,DALL·E,OpenAI,Image,,\n".encode("cp1252"))
    with pytest.raises(KnowledgeError, match="UTF-8"):
        load_entries(tmp_path)


def test_knowledge_error_is_a_value_error():
    assert issubclass(KnowledgeError, ValueError)


# --- Entry helpers -----------------------------------------------------------------------

def test_names_are_title_then_aliases_without_duplicates():
    entry = Entry(id="x", title="VAE", kind="glossary", section="Glossary", text="t",
                  aliases=("VAEs", "VAE", "VAEs"))
    assert entry.names == ("VAE", "VAEs")

