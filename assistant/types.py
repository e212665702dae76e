"""Plain result types returned by the Python API (JSON-serialisable with ``asdict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore


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
class Timings:
    """Seconds from the start of the call (the one definition used by the UI, eval and bench)."""

    first_text_s: float | None = None  # to the first non-empty text the caller received (time to first token)
    total_s: float | None = None  # to the final, verified answer


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
    timings: Timings = field(default_factory=Timings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


LLMState = Literal["ready", "starting", "down"]


@dataclass
class Health:
    """The assistant's state: whether its LLM answers (and why not), and the index size."""

    llm_state: LLMState  # "ready": a one-token completion succeeded; "starting"; "down" (see llm_error)
    llm_error: str  # why the LLM is down; empty when ready
    llm_provider: str
    llm_model: str
    llm_url: str  # credentials redacted
    index_size: int  # passages in the index
    checked_at: str  # ISO 8601 time (UTC) of the last LLM check
    llm_restarts: int = 0  # restarts of the local server in the last 10 minutes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Trace:
    """One pass through the answer path, for inspection: the standalone query searched, the route,
    the passages with the retrievers' signals, the gate's verdict, and the answer when asked for."""

    question: str
    query: str
    route: Literal["table", "search"]  # the model-table filter answered, or hybrid search
    passages: list[Passage]
    answerable: bool  # the answerability gate's verdict
    reason: str  # and why
    nodes: list[NodeWithScore] = field(default_factory=list, repr=False)  # LlamaIndex nodes with their metadata
    answer: Answer | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "query": self.query, "route": self.route,
                "passages": [p.to_dict() for p in self.passages], "answerable": self.answerable, "reason": self.reason,
                "answer": self.answer.to_dict() if self.answer else None}
