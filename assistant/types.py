"""Plain result types returned by the Python API (JSON-serialisable with ``asdict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass
class Passage:
    """One retrieved chunk of an entry or file."""

    entry_id: str
    title: str
    kind: str
    text: str
    score: float
    source: str
    section: str = ""
    node_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Citation:
    """A numbered reference from the answer to a passage, with a quote verified verbatim in it."""

    number: int
    entry_id: str
    title: str
    quote: str
    passage_text: str
    source: str
    section: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Mode = Literal["generated", "extractive", "refused", "structured"]


@dataclass
class Answer:
    """What the assistant says, with the evidence behind it."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    passages: list[Passage] = field(default_factory=list)
    query: str = ""
    mode: Mode = "generated"
    unsupported: list[str] = field(default_factory=list)
    incomplete: bool = False
    notice: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
