"""Load the structured knowledge entries (knowledge/*.csv, knowledge/*.yaml) and validate them."""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import AssistantError

KINDS = ("model", "concept", "section", "glossary")
DEFAULT_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
MODELS_FILE = "models.csv"
MODEL_COLUMNS = ["id", "name", "creator", "generates", "aliases", "note"]
MODELS_SECTION = "AI models table"
YAML_REQUIRED = ("id", "title", "kind", "section", "text")
YAML_OPTIONAL = ("aliases", "note", "number")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is 10x faster
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class KnowledgeError(AssistantError, ValueError):
    """A knowledge file is missing or malformed; the message says where and how to fix it."""


@dataclass(frozen=True)
class Entry:
    """One unit of the material: a model-table row, concept, prose section or glossary term."""

    id: str
    title: str
    kind: str
    section: str
    text: str
    aliases: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    note: str = ""
    source: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The title followed by the aliases, without duplicates, in order."""
        return tuple(dict.fromkeys((self.title, *self.aliases)))


def model_text(name: str, creator: str, generates: str) -> str:
    """The sentence that stands for a model-table row."""
    return (f"{name} — creator: {creator or 'none listed'} "
            f"— generates: {generates}")


def _models(path: Path, source: str) -> list[Entry]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != MODEL_COLUMNS:
            raise KnowledgeError(f"{source}: the first line must be the header "
                                 f"{','.join(MODEL_COLUMNS)!r}, found {header!r}.")
        entries = []
        for row in reader:
            where = f"{source} line {reader.line_num}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(MODEL_COLUMNS):
                raise KnowledgeError(f"{where}: expected {len(MODEL_COLUMNS)} columns, found "
                                     f"{len(row)}; quote cells that contain commas.")
            id_, name, creator, generates, aliases, note = (c.strip() for c in row)
            for column, value in (("name", name), ("generates", generates)):
                if not value:
                    raise KnowledgeError(f"{where}: the {column} cell is empty; fill it in.")
            entries.append(Entry(
                id=id_, title=name, kind="model", section=MODELS_SECTION,
                text=model_text(name, creator, generates),
                aliases=tuple(a.strip() for a in aliases.split("|") if a.strip()),
                fields={"creator": creator, "generates": generates}, note=note,
                source=source))
    return entries


def _yaml_entries(path: Path, source: str) -> list[Entry]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{source} is not valid YAML ({exc}); check the indentation "
                             "near the line shown.") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise KnowledgeError(f"{source}: the file must be a YAML list of entries "
                             "(each starting with '- id: ...').")
    return [_yaml_entry(item, f"{source} entry #{n}", source)
            for n, item in enumerate(data, start=1)]


def _yaml_entry(item: Any, where: str, source: str) -> Entry:
    if not isinstance(item, dict):
        raise KnowledgeError(f"{where}: each entry must be a mapping of keys such as 'id:'.")
    if isinstance(item.get("id"), str):
        where = f"{where} (id {item['id']!r})"
    missing = [k for k in YAML_REQUIRED if item.get(k) in (None, "")]
    if missing:
        raise KnowledgeError(f"{where}: missing or empty key(s) {', '.join(missing)}; every "
                             f"entry needs {', '.join(YAML_REQUIRED)}.")
    unknown = sorted(set(item) - set(YAML_REQUIRED) - set(YAML_OPTIONAL))
    if unknown:
        raise KnowledgeError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed "
                             f"keys are {', '.join(YAML_REQUIRED + YAML_OPTIONAL)}.")
    aliases = item.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise KnowledgeError(f"{where}: aliases must be a list of strings, e.g. [VAE, VAEs].")
    fields = {}
    if "number" in item:
        if isinstance(item["number"], bool) or not isinstance(item["number"], int):
            raise KnowledgeError(f"{where}: number must be a whole number, e.g. number: 5.")
        fields["number"] = str(item["number"])
    return Entry(id=str(item["id"]).strip(), title=str(item["title"]).strip(),
                 kind=str(item["kind"]).strip(), section=str(item["section"]).strip(),
                 text=str(item["text"]).strip(), aliases=tuple(a.strip() for a in aliases),
                 fields=fields, note=str(item.get("note") or "").strip(), source=source)


def _check(entry: Entry, seen: dict[str, Entry]) -> None:
    where = f"{entry.source} (id {entry.id!r})"
    if not ID_PATTERN.match(entry.id):
        raise KnowledgeError(f"{where}: ids may use only a-z, 0-9 and '-', and must start "
                             "with a letter or digit, e.g. 'variational-autoencoders'.")
    if entry.kind not in KINDS:
        raise KnowledgeError(f"{where}: kind {entry.kind!r} is not one of {', '.join(KINDS)}.")
    if not entry.text.strip():
        raise KnowledgeError(f"{where}: text is empty; paste the material's wording.")
    if entry.id in seen:
        raise KnowledgeError(f"Duplicate id {entry.id!r} in {seen[entry.id].source} and "
                             f"{entry.source}; ids must be unique across all knowledge files, "
                             "so rename one of them.")
    seen[entry.id] = entry


def load_entries(directory: str | os.PathLike = DEFAULT_KNOWLEDGE_DIR) -> list[Entry]:
    """Read models.csv and every *.yaml in `directory` (sorted) and return validated entries."""
    root = Path(directory)
    if not root.is_dir():
        raise KnowledgeError(f"Knowledge directory {root} not found; pass the folder that holds "
                             "models.csv and the *.yaml entry files.")
    files = [root / MODELS_FILE] if (root / MODELS_FILE).is_file() else []
    files += sorted(root.glob("*.yaml"))
    entries: list[Entry] = []
    for path in files:
        reader = _models if path.name == MODELS_FILE else _yaml_entries
        source = f"{root.name}/{path.name}"
        try:
            entries += reader(path, source)
        except UnicodeDecodeError as exc:
            raise KnowledgeError(f"{source} is not UTF-8 text; save it with UTF-8 "
                                 "encoding.") from exc
    if not entries:
        raise KnowledgeError(f"Knowledge directory {root} holds no entries; add models.csv "
                             "or *.yaml files (see knowledge/README.md).")
    seen: dict[str, Entry] = {}
    for entry in entries:
        _check(entry, seen)
    return entries

