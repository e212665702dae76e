"""One-off conversion of the seed article into the structured files in knowledge/.

Run from anywhere:  python knowledge/build_from_seed.py [--seed PATH]

It (re)writes models.csv, concepts.yaml, sections.yaml, glossary.yaml and
source/generative-ai-all-you-need-to-know.txt.  Every decision that is not a
mechanical consequence of the article's layout (ids, aliases, notes, where
sections start) is written below as explicit data, so running the script again
reproduces the committed files exactly.  After the first conversion the files
are meant to be edited by hand; re-running this script overwrites such edits.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import unicodedata
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DEFAULT_SEED = HERE.parent.parent / "shared" / "seed" / "000_544a29dc4176126b.txt"
SOURCE_COPY = HERE / "source" / "generative-ai-all-you-need-to-know.txt"

KIND_ORDER = ("model", "concept", "section", "glossary")
CHROME_LINE = "Skip to content Skip to footer"

# --- Layout landmarks (stripped lines of the article) -------------------------------
ARTICLE_TITLE = "Generative AI – All you need to know"
WHAT_IS = "What is Generative AI?"
TABLE_HEADER = ("Name", "Creator", "Generates")
KEY_COMPONENTS = "Key Components of Generative AI:"
CONCEPTS_HEADING = "Generative AI Concepts:"
ANALOGY_START = "Let me give you an analogy using how google search engine works:"
GLOSSARY_FIRST = "Embedding Spaces:"
CHALLENGES = "Challenges and Ethical Considerations:"

# The table row for LangChain has only two cells (name, generates): no creator.
ROWS_WITHOUT_CREATOR = {"LangChain"}

# Explanatory prose sections between the latent-space analogy and the glossary, in
# article order.  How each one starts:
#   inline   -> first paragraph is "<title>: <text>"
#   sentence -> no heading; the first paragraph starts with "<title> " (title = its subject)
#   heading  -> a line of its own, "<title>" or "<title>:"
PROSE_SECTIONS = [
    ("Adversarial Training", "inline"),
    ("Multimodal generation", "sentence"),
    ("Diffusion models", "sentence"),
    ("Transformers", "sentence"),
    ("Controlled Generation", "inline"),
    ("Iterative Refinement", "inline"),
    ("Compositionality", "inline"),
    ("Multimodal Alignment", "inline"),
    ("Memory/Attention", "inline"),
    ("Generalization & Robustness", "heading"),
    ("LoRA and Prompt Tuning", "inline"),
    ("Diffusion Guidance and Classifier Guidance", "inline"),
    ("Latent Diffusion and PLMS Sampling", "inline"),
    ("Reinforcement Learning for Generation", "inline"),
    ("Transfer Learning in Generative AI", "heading"),
    ("Generative Adversarial Networks (GANs) Beyond Images", "heading"),
    ("Fine-Tuning and Model Personalization", "heading"),
    ("Zero-Shot and Few-Shot Learning", "heading"),
    ("Advanced Natural Language Understanding (NLU)", "heading"),
    ("The Role of Attention Mechanisms", "heading"),
]

# Titles given to entries that have no heading of their own in the article.
INTRO_TITLE = ARTICLE_TITLE
TABLE_INTRO_TITLE = "AI models table"
TABLE_SECTION = "AI models table"
CONCEPTS_SECTION = "Generative AI Concepts"
KEY_COMPONENTS_SECTION = "Key Components of Generative AI"
ANALOGY_TITLE = "Latent Space: Google search analogy"
GLOSSARY_SECTION = "Glossary"
CONDITIONAL_GENERATION = "Conditional Generation"  # concept 21 has no colon

# Hand-chosen aliases (keyed by final id).  Collisions with another entry's names are an
# error here (unlike derived aliases, which are dropped silently when they collide).
EXTRA_ALIASES: dict[str, list[str]] = {
    # models
    "llama-2": ["LLaMA 2", "Llama 2"],
    "pangu-alpha": ["PanGu-alpha", "PanGu"],
    "tesseract-ocr": ["Tesseract"],
    "copilot": ["GitHub Copilot"],
    "u-net": ["UNet"],
    "mum": ["Multitask Unified Model"],
    # concepts
    "generative-models": ["Generative Model"],
    "text-to-image": ["Text-to-Image"],
    "image-to-image": ["Image-to-Image"],
    "text-to-video": ["Text-to-Video"],
    "video-to-video": ["Video-to-Video"],
    "upscale": ["Upscaling"],
    "safetensor": ["SafeTensors"],
    "laion-5b": ["LAION-5B"],
    "sd1-5": ["SD 1.5", "Stable Diffusion 1.5"],
    "sdxl": ["Stable Diffusion XL"],
    "textural-inversion": ["Textual Inversion"],
    # sections
    "generative-ai-all-you-need-to-know": ["Introduction"],
    "what-is-generative-ai": ["Generative AI"],
    "ai-models-table": ["Table of AI models"],
    "latent-space-google-search-analogy": ["Google search analogy", "Latent space analogy"],
    "diffusion-models": ["Diffusion model"],
    "memory-attention": ["Memory and Attention"],
    "generalization-robustness": ["Generalization and Robustness"],
    "diffusion-guidance-and-classifier-guidance": ["Diffusion Guidance", "Classifier Guidance"],
    "latent-diffusion-and-plms-sampling": ["Latent Diffusion", "PLMS Sampling"],
    "generative-adversarial-networks-gans-beyond-images": [
        "GANs", "GAN", "Generative Adversarial Networks", "Generative Adversarial Network"],
    "fine-tuning-and-model-personalization": ["Fine-Tuning", "Model Personalization"],
    "zero-shot-and-few-shot-learning": ["Zero-Shot Learning"],
    "advanced-natural-language-understanding-nlu": ["Natural Language Understanding"],
    "the-role-of-attention-mechanisms": ["Attention Mechanisms", "Attention Mechanism"],
    "challenges-and-ethical-considerations": ["Ethical Considerations", "Challenges"],
    # glossary
    "embedding-spaces": ["Embedding Space"],
    "sequence-to-sequence-models-seq2seq": ["Sequence-to-Sequence Model"],
    "counterfactual-generations": ["Counterfactual Generation"],
    "autoregressive-models": ["Autoregressive Model"],
    "skip-connections": ["Skip Connection"],
    "zero-inflated-models": ["Zero-Inflated Model"],
    "implicit-models": ["Implicit Model"],
    "equivariant-networks": ["Equivariant Network"],
    "xai-explainable-artificial-intelligence": ["Explainable AI"],
}

NOTES: dict[str, str] = {
    # models
    "beit": "The article lists BEiT twice in its table: this row (Microsoft, Image) and "
            "beit-2 (Microsoft, Image Representation). Both rows are kept.",
    "beit-2": "Second BEiT row of the article's table (Microsoft, Image Representation); "
              "the first is beit (Microsoft, Image). Both rows are kept.",
    "whisper": "The article also lists \"Whisper AI\" (whisper-ai) as a separate row with the "
               "same creator and output; both rows describe the same thing and both are kept.",
    "whisper-ai": "Same thing as the \"Whisper\" row (whisper), listed separately in the "
                  "article with the same creator and output; both rows are kept.",
    "turing-nlg": "The article also lists T-NLG (t-nlg), the short name of Turing-NLG, as a "
                  "separate row; both rows are kept.",
    "t-nlg": "T-NLG is the short name of Turing-NLG (turing-nlg), which the article lists as "
             "a separate row; both rows are kept.",
    "langchain": "The article gives no creator (its table row has only two cells).",
    "mum": "The article's Generates cell spells out the name (Multitask Unified Model) "
           "rather than an output type; kept as written.",
    "laion-400m": "A dataset rather than a model; the article lists it in its model table.",
    "clipper": "This is how the article names and describes it; kept as written.",
    "yolo-you-only-look-once": "The glossary has an entry with the same title "
                               "(yolo-you-only-look-once-glossary).",
    "bert": "The glossary also defines it as \"Bidirectional Encoder Representations from "
            "Transformers (BERT)\" (bidirectional-encoder-representations-from-transformers-bert).",
    # concepts
    "generative-models": "The article numbers both Key Components \"1.\"; this is the first. "
                         "Key Components carry no number here.",
    "training-data": "The article numbers both Key Components \"1.\"; this is the second. "
                     "Key Components carry no number here.",
    "safetensor": "This is how the article defines it (as a security mechanism); kept as written.",
    "deforum": "This is how the article defines it (as a website or platform); kept as written.",
    "textural-inversion": "Spelt \"Textural Inversion\" in the article; the usual name "
                          "\"Textual Inversion\" is an alias.",
    "esrgan-enhanced-super-resolution-generative-adversarial-network":
        "The article has a no-break space after \"ESRGAN\" in this title; it is a plain space here.",
    "conditional-generation": "The article writes this concept as one sentence without a "
                              "colon; the text is the whole sentence.",
    "latent-space": "The article follows this concept with a Google search analogy, stored as "
                    "latent-space-google-search-analogy.",
    # sections
    "ai-models-table": "The sentence that introduces the table; the table rows are in models.csv.",
    "latent-space-google-search-analogy": "Follows concept 22 (latent-space) in the article; "
                                          "the title is ours, the article has no heading here.",
    "multimodal-generation": "No heading in the article; the title is the sentence's subject.",
    "diffusion-models": "No heading in the article; the title is the first sentence's subject.",
    "transformers": "No heading in the article; the title is the first sentence's subject. "
                    "Includes the dance analogy.",
    "challenges-and-ethical-considerations": "Includes the article's closing paragraph.",
    # glossary
    "capsule-networks-capsnets": "The glossary defines Capsule Networks (CapsNets) twice with "
                                 "different wording; the other is capsule-networks-capsnets-2.",
    "capsule-networks-capsnets-2": "Second glossary definition of Capsule Networks (CapsNets); "
                                   "the first is capsule-networks-capsnets.",
    "yolo-you-only-look-once-glossary": "The model table has a row with the same title "
                                        "(yolo-you-only-look-once).",
    "bidirectional-encoder-representations-from-transformers-bert":
        "The model table also lists BERT (bert).",
    "vision-transformers-vits": "The model table lists ViT (Vision Transformer) "
                                "(vit-vision-transformer); ViT and Vision Transformer are "
                                "its names, not aliases of this entry.",
    "xai-explainable-artificial-intelligence": "See also explainable-ai-xai-in-generative-models.",
    "explainable-ai-xai-in-generative-models": "See also xai-explainable-artificial-intelligence.",
}


# --- Helpers ----------------------------------------------------------------------------

def slugify(title: str) -> str:
    """Lowercase a-z0-9 slug; Greek letters become their names (α -> alpha)."""
    out = []
    for ch in title:
        name = unicodedata.name(ch, "")
        if name.startswith("GREEK SMALL LETTER ") or name.startswith("GREEK CAPITAL LETTER "):
            out.append(" " + name.split()[-1].lower() + " ")
        else:  # é -> e; symbols without an ASCII form (·) separate words
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
                       or " ")
    return re.sub(r"[^a-z0-9]+", "-", "".join(out).lower()).strip("-")


def clean(line: str) -> str:
    """Strip indentation (str.strip also removes the no-break space on the blank line)."""
    return line.strip()


def explicit_aliases(title: str, kind: str) -> list[str]:
    """Aliases written in the title itself: 'A (B)', 'A (B) C', 'X, Y', and '·' -> '-'."""
    names: list[str] = []
    if kind == "model" and ", " in title:
        names += title.split(", ")
    m = re.fullmatch(r"(.+?) \((.+?)\)(.*)", title)
    if m:
        base, inner, rest = m.group(1), m.group(2), m.group(3)
        names += [(base + rest).strip(), (inner + rest).strip()]
    names += [n.replace("·", "-") for n in [title, *names] if "·" in n and "(" not in n]
    return names


def derived_aliases(title: str) -> list[str]:
    """Singular forms for 'Long Names (ABBRs)' pairs, e.g. VAEs -> VAE, ... Autoencoder."""
    m = re.fullmatch(r"(.+?)s \(([A-Z][A-Za-z0-9]*[A-Z])s\)", title)
    return [m.group(2), m.group(1)] if m else []


# --- Parsing ----------------------------------------------------------------------------

def parse(text: str) -> list[dict]:
    lines = [clean(line) for line in text.split("\n")]
    content = [line for line in lines if line]
    assert content[0] == CHROME_LINE, content[0]

    def index(value: str, start: int = 0) -> int:
        return content.index(value, start)

    entries: list[dict] = []

    def add(title: str, kind: str, section: str, text: Any, number: int | None = None) -> None:
        entries.append({"title": title, "kind": kind, "section": section,
                        "text": text, "number": number})

    # Introduction, "What is Generative AI?" and the sentence introducing the table.
    assert content[1] == ARTICLE_TITLE and content[3] == WHAT_IS
    add(INTRO_TITLE, "section", ARTICLE_TITLE, content[2])
    add(WHAT_IS, "section", WHAT_IS, content[4])
    add(TABLE_INTRO_TITLE, "section", TABLE_SECTION, content[5])

    # The table: one cell per line.
    assert tuple(content[6:9]) == TABLE_HEADER
    cells = content[9:index(KEY_COMPONENTS)]
    while cells:
        name = cells.pop(0)
        creator = "" if name in ROWS_WITHOUT_CREATOR else cells.pop(0)
        generates = cells.pop(0)
        entries.append({"title": name, "kind": "model", "section": TABLE_SECTION,
                        "creator": creator, "generates": generates})

    # Key components: both numbered "1." in the article.
    i = index(KEY_COMPONENTS) + 1
    while content[i] != CONCEPTS_HEADING:
        m = re.fullmatch(r"1\. (.+?): (.+)", content[i])
        assert m, content[i]
        add(m.group(1), "concept", KEY_COMPONENTS_SECTION, m.group(2))
        i += 1

    # "Generative AI Concepts" intro and the 22 numbered concepts.
    i += 1
    add(CONCEPTS_SECTION, "section", CONCEPTS_SECTION, content[i])
    i += 1
    expected = 1
    while content[i] != ANALOGY_START:
        m = re.fullmatch(r"(\d+)\. (.+)", content[i])
        assert m and int(m.group(1)) == expected, content[i]
        body = m.group(2)
        if body.startswith(CONDITIONAL_GENERATION + " "):
            title, definition = CONDITIONAL_GENERATION, body
        else:
            title, definition = body.split(": ", 1)
        add(title, "concept", CONCEPTS_SECTION, definition, number=expected)
        expected += 1
        i += 1
    assert expected == 23

    # The latent-space analogy: intro line, bullets (kept as one list), closing paragraph.
    first_prose = PROSE_SECTIONS[0][0] + ": "
    end = next(j for j in range(i, len(content)) if content[j].startswith(first_prose))
    bullets = [c for c in content[i + 1:end] if c.startswith("•")]
    rest = [c for c in content[i + 1:end] if not c.startswith("•")]
    analogy = "\n\n".join([content[i], "\n".join(bullets), *rest])
    add(ANALOGY_TITLE, "section", CONCEPTS_SECTION, analogy)

    # Explanatory prose sections.
    glossary_start = next(j for j in range(end, len(content))
                          if content[j].startswith(GLOSSARY_FIRST))
    paragraphs = content[end:glossary_start]
    current: list[str] | None = None  # paragraphs of the section being read
    pending = list(PROSE_SECTIONS)
    for para in paragraphs:
        if pending:
            title, how = pending[0]
            starts = {"inline": para.startswith(title + ": "),
                      "sentence": para.startswith(title + " "),
                      "heading": para in (title, title + ":")}[how]
            if starts:
                pending.pop(0)
                current = []
                add(title, "section", title, current)
                if how == "inline":
                    current.append(para[len(title) + 2:])
                elif how == "sentence":
                    current.append(para)
                continue
        assert current is not None, para
        current.append(para)
    assert not pending, pending
    for entry in entries:
        if isinstance(entry.get("text"), list):
            entry["text"] = "\n\n".join(entry["text"])

    # Glossary, then "Challenges and Ethical Considerations" with the closing paragraph.
    j = glossary_start
    while content[j] != CHALLENGES:
        term, definition = content[j].split(": ", 1)
        add(term, "glossary", GLOSSARY_SECTION, definition)
        j += 1
    title = CHALLENGES.rstrip(":")
    add(title, "section", title, "\n\n".join(content[j + 1:]))
    return entries


def assign_ids(entries: list[dict]) -> None:
    """Slug of the title; repeats within a kind get -2, -3; across kinds the kind that
    comes first in (model, concept, section, glossary) keeps the bare slug and the others
    get -<kind>."""
    seen_in_kind: dict[tuple[str, str], int] = {}
    for e in entries:
        base = slugify(e["title"])
        n = seen_in_kind.get((e["kind"], base), 0) + 1
        seen_in_kind[(e["kind"], base)] = n
        e["id"] = base if n == 1 else f"{base}-{n}"
    owner: dict[str, str] = {}
    for kind in KIND_ORDER:
        for e in entries:
            if e["kind"] == kind:
                if e["id"] in owner and owner[e["id"]] != kind:
                    e["id"] = f"{e['id']}-{kind}"
                owner.setdefault(e["id"], kind)
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids)), "duplicate ids"


def assign_aliases(entries: list[dict]) -> None:
    explicit = {e["id"]: explicit_aliases(e["title"], e["kind"]) for e in entries}
    unknown = set(EXTRA_ALIASES) - set(explicit)
    assert not unknown, f"EXTRA_ALIASES for unknown ids: {unknown}"
    unknown = set(NOTES) - set(explicit)
    assert not unknown, f"NOTES for unknown ids: {unknown}"
    # Names an entry truly has (title + explicit + hand-chosen), by casefolded name.
    claimed: dict[str, set[str]] = {}
    for e in entries:
        for name in [e["title"], *explicit[e["id"]], *EXTRA_ALIASES.get(e["id"], [])]:
            claimed.setdefault(name.casefold(), set()).add(e["id"])
    for e in entries:
        for name in EXTRA_ALIASES.get(e["id"], []):
            assert claimed[name.casefold()] == {e["id"]}, (e["id"], name, claimed[name.casefold()])
        derived = [d for d in derived_aliases(e["title"])
                   if claimed.get(d.casefold(), {e["id"]}) == {e["id"]}]
        aliases: list[str] = []
        for name in [*explicit[e["id"]], *derived, *EXTRA_ALIASES.get(e["id"], [])]:
            if name != e["title"] and name not in aliases:
                aliases.append(name)
        e["aliases"] = aliases
        e["note"] = NOTES.get(e["id"], "")


# --- Writing ----------------------------------------------------------------------------

def scalar(value: str) -> str:
    """A YAML scalar: plain when that reads back unchanged, else double-quoted."""
    if value and re.fullmatch(r"[A-Za-z0-9][^:#\[\]{},\"'|>&*!%@`]*", value) \
            and value == value.strip():
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def yaml_entry(e: dict) -> str:
    out = [f"- id: {e['id']}",
           f"  title: {scalar(e['title'])}",
           f"  kind: {e['kind']}",
           f"  section: {scalar(e['section'])}"]
    if e.get("number") is not None:
        out.append(f"  number: {e['number']}")
    out.append("  aliases: [" + ", ".join(scalar(a) for a in e["aliases"]) + "]")
    if e["note"]:
        out.append(f"  note: {scalar(e['note'])}")
    out.append("  text: |")
    out += [("    " + line) if line else "" for line in e["text"].split("\n")]
    return "\n".join(out) + "\n"


HEADERS = {
    "concepts.yaml": "# The two Key Components and the 22 numbered Generative AI Concepts.",
    "sections.yaml": "# Explanatory prose: introduction, section texts, analogies, closing.",
    "glossary.yaml": "# The article's \"Term: definition\" glossary, in article order.",
}


def write_yaml(path: Path, entries: list[dict]) -> None:
    header = HEADERS[path.name] + "\n# Format and editing rules: knowledge/README.md\n\n"
    body = header + "\n".join(yaml_entry(e) for e in entries)
    loaded = yaml.safe_load(body)
    for e, got in zip(entries, loaded, strict=True):  # the YAML must read back exactly
        assert got["title"] == e["title"] and got["text"].rstrip("\n") == e["text"], e["id"]
        assert got["aliases"] == e["aliases"] and got.get("note", "") == e["note"], e["id"]
    path.write_text(body, encoding="utf-8")


def write_models(path: Path, models: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "name", "creator", "generates", "aliases", "note"])
        for m in models:
            writer.writerow([m["id"], m["title"], m["creator"], m["generates"],
                             "|".join(m["aliases"]), m["note"]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED,
                        help="the seed article (default: %(default)s; falls back to the "
                             "copy in knowledge/source when missing)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed.exists() else SOURCE_COPY
    text = seed.read_text(encoding="utf-8")
    entries = parse(text)
    # ESRGAN's title contains a no-break space in the article; titles use plain spaces.
    for e in entries:
        e["title"] = e["title"].replace("\xa0", " ")
    assign_ids(entries)
    assign_aliases(entries)

    SOURCE_COPY.parent.mkdir(exist_ok=True)
    if seed.resolve() != SOURCE_COPY.resolve():
        shutil.copyfile(seed, SOURCE_COPY)
    write_models(HERE / "models.csv", [e for e in entries if e["kind"] == "model"])
    for kind, name in (("concept", "concepts.yaml"), ("section", "sections.yaml"),
                       ("glossary", "glossary.yaml")):
        write_yaml(HERE / name, [e for e in entries if e["kind"] == kind])
    counts = {k: sum(e["kind"] == k for e in entries) for k in KIND_ORDER}
    print("wrote", ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
