"""The contract between the stages of the answer path, written once.

    question ─► condense ─► TableRetriever ─► HybridRetriever ─► AnswerabilityGate ─► CitedSynthesizer ─► Answer
                                 (route)        (signals)            (verdict)

Stages hand each other LlamaIndex ``NodeWithScore`` lists. What a stage tells the next travels in
the node's metadata under a :class:`Key`, written with :func:`with_metadata` and read back only
through :class:`NodeView`; the final :class:`~assistant.types.Answer` leaves the synthesizer in the
response's metadata under :data:`ANSWER` and is read with :func:`answer_of`. What the question
asks (its kind, named entries, list filter) is read once and travels with the query itself
(:class:`AnalyzedQuery`). No stage reads a key this module does not define.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from llama_index.core.schema import QueryBundle

from assistant.text import kinds_asked

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode, NodeWithScore

    from assistant.intent import Intent
    from assistant.types import Answer


class Key(StrEnum):
    """Metadata keys of a node, by the stage that writes them."""

    # Written at ingest (assistant.chunking) and stored in Chroma.
    ENTRY_ID = "entry_id"  #: the entry (table row, concept, section, glossary term or file) of the passage
    TITLE = "title"  #: the entry's title
    KIND = "kind"  #: "model", "concept", "section", "glossary" or "document"
    SECTION = "section"  #: the part of the material (or the file's heading) it comes from
    SOURCE = "source"  #: knowledge file or user file it was read from
    NAMES = "names"  #: title and aliases, joined with NAME_SEPARATOR (Chroma stores scalars only)
    ORIGIN = "origin"  #: "knowledge" or "file:<resolved path>"
    POSITION = "position"  #: the entry's place in the material (order of listings and ties)
    CHUNK = "chunk"  #: the chunk's number within a long entry or file
    HEADING = "heading"  #: a file's Markdown heading
    CONTENT_HASH = "content_hash"  #: hash of text and metadata: re-ingest skips unchanged nodes
    # Written by the retrievers (assistant.retrieval, assistant.table) on a copy of the node.
    VECTOR_SCORE = "vector_score"  #: cosine similarity of the question to this passage
    BM25_SCORE = "bm25_score"  #: BM25 score of the question against this passage
    NAMED = "named"  #: the question names this passage's entry (title or alias)
    TABLE_FIELD = "table_field"  #: the model-table route matched this row on "creator", "generates", "name" or "row"
    TABLE_VALUE = "table_value"  #: the question's words that matched that field
    # Written by the answerability gate (assistant.gate).
    GATE = "gate"  #: "pass" or "below"
    GATE_REASON = "gate_reason"  #: why, in a few words


FIELD_PREFIX = "field_"  # structured fields of an entry: field_creator, field_generates, field_number
NAME_SEPARATOR = "|"
ANSWER = "answer"  # key of the LlamaIndex response's metadata holding the final Answer


def join_names(names: Iterable[str]) -> str:
    """Names as one stored string."""
    return NAME_SEPARATOR.join(n for n in names if n)


def split_names(value: object) -> list[str]:
    """The names a stored string holds."""
    return [n for n in str(value or "").split(NAME_SEPARATOR) if n]


def with_metadata(node: BaseNode, **values: Any) -> BaseNode:
    """A shallow copy of the node with metadata merged in (keys must be :class:`Key` values);
    stages never change the shared nodes of the index snapshot."""
    unknown = set(values) - set(Key)
    if unknown:
        raise KeyError(f"not a stage key: {sorted(unknown)}")
    copy = node.model_copy(deep=False)
    copy.metadata = {**node.metadata, **{str(k): v for k, v in values.items()}}
    return copy


@dataclass(frozen=True)
class NodeView:
    """Typed, read-only access to what the stages wrote on a node."""

    node: BaseNode

    @classmethod
    def of(cls, node: BaseNode | NodeWithScore) -> NodeView:
        return cls(getattr(node, "node", node))  # type: ignore[arg-type]

    def _get(self, key: Key, default: Any = "") -> Any:
        return self.node.metadata.get(key.value, default)

    @property
    def entry_id(self) -> str:
        return str(self._get(Key.ENTRY_ID) or self.node.node_id)

    @property
    def title(self) -> str:
        return str(self._get(Key.TITLE))

    @property
    def kind(self) -> str:
        return str(self._get(Key.KIND))

    @property
    def section(self) -> str:
        return str(self._get(Key.SECTION))

    @property
    def source(self) -> str:
        return str(self._get(Key.SOURCE))

    @property
    def origin(self) -> str:
        return str(self._get(Key.ORIGIN))

    @property
    def position(self) -> int:
        return int(self._get(Key.POSITION, 0) or 0)

    @property
    def chunk(self) -> int:
        return int(self._get(Key.CHUNK, 0) or 0)

    @property
    def names(self) -> list[str]:
        return split_names(self._get(Key.NAMES))

    def field(self, name: str) -> str:
        """A structured field ("creator", "generates", "number"), '' when the entry has none."""
        return str(self.node.metadata.get(FIELD_PREFIX + name, "") or "")

    @property
    def fields(self) -> dict[str, str]:
        return {k[len(FIELD_PREFIX):]: str(v) for k, v in self.node.metadata.items() if k.startswith(FIELD_PREFIX)}

    @property
    def vector_score(self) -> float:
        return float(self._get(Key.VECTOR_SCORE, 0.0) or 0.0)

    @property
    def bm25_score(self) -> float:
        return float(self._get(Key.BM25_SCORE, 0.0) or 0.0)

    @property
    def named(self) -> bool:
        return bool(self._get(Key.NAMED, False))

    @property
    def table_field(self) -> str:
        """'creator' or 'generates' when the model-table route selected this row, else ''."""
        return str(self._get(Key.TABLE_FIELD))

    @property
    def table_value(self) -> str:
        return str(self._get(Key.TABLE_VALUE))

    @property
    def gate_passed(self) -> bool | None:
        """The gate's verdict on the retrieval this node belongs to (None before the gate ran)."""
        value = self._get(Key.GATE, None)
        return None if value is None else value == "pass"

    @property
    def gate_reason(self) -> str:
        return str(self._get(Key.GATE_REASON))


@dataclass
class AnalyzedQuery(QueryBundle):
    """The query every stage receives: LlamaIndex's QueryBundle plus what the question asks
    (:class:`~assistant.intent.Intent`), read once before retrieval."""

    intent: Intent | None = None
    said: str = ""  # the last answer, when the question is a follow-up asking for more ("how so?"): not to repeat
    # the whole message when the query is only its ask: "Our app must fit on a phone, so we store weights as 4-bit
    # integers. What is that step called?" is searched as asked and as a whole (see HybridRetriever)
    message: str = ""
    # the kinds of entry asked for ("Which of the numbered concepts ...?": concepts), read from the message when there
    # is one, else from the query (see text.kinds_asked); every stage reads this one reading through kinds_of
    kinds: frozenset[str] | None = None


def kinds_of(bundle: QueryBundle | None) -> frozenset[str] | None:
    """The kinds of entry a query asks for: the Assistant's reading, or for a plain QueryBundle its own text's."""
    if isinstance(bundle, AnalyzedQuery):
        return bundle.kinds
    return kinds_asked(bundle.query_str) if bundle is not None else None


def intent_of(bundle: QueryBundle | None) -> Intent | None:
    """The intent a query carries (None for a plain QueryBundle from outside the Assistant)."""
    return getattr(bundle, "intent", None)


def message_of(bundle: QueryBundle | None) -> str:
    """The whole message a query was focused from, when the query is only its ask ("" otherwise)."""
    return getattr(bundle, "message", "")


def said_of(bundle: QueryBundle | None) -> str:
    """The answer a follow-up asking for more follows ("" for a plain QueryBundle or a question of its own)."""
    return getattr(bundle, "said", "") or ""


def answer_of(response: Any) -> Answer:
    """The verified Answer a :class:`~assistant.synthesizer.CitedSynthesizer` response carries."""
    from assistant.types import Answer

    answer = (getattr(response, "metadata", None) or {}).get(ANSWER)
    if not isinstance(answer, Answer):
        raise TypeError("the response carries no Answer (was it made by CitedSynthesizer, and its stream consumed?)")
    return answer
