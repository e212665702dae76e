"""Structured questions over the model table: "Which models did NVIDIA create?",
"Which models generate audio?" — answered by filtering the rows' ``creator`` and
``generates`` fields, so every matching row is listed (similarity search would miss some).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.text import content_words, normalize

# A question asks for a list of rows when it says "list", or asks which/what models
# (plural), or "how many models".
_LIST_INTENT = re.compile(r"\blist\b|\b(which|what)\b[^?]*\b(models|systems|tools|ones|entries)\b|\bhow many models\b"
                          r"|\b(models|systems|tools) (made|created|developed|built|released|by|from)\b")
_CREATOR_VERBS = re.compile(r"\b(creat|made|make|develop|buil|by|from|releas|publish|own|attribut|credit)")
_OUTPUT_VERBS = re.compile(r"\b(generat|produc|output|creat|make|for|do)")
# Words that never identify a creator (or an output type) on their own.
_WEAK = {"creator": frozenset({"ai", "now", "open", "source", "research", "model", "various", "multiple", "contributor"}),
         "generates": frozenset({"model", "various"})}


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


@dataclass
class TableMatch:
    """Rows selected by a field filter, and what was asked for."""

    field: str  # "creator" or "generates"
    value: str  # the words of the question that matched
    nodes: list[TextNode]


class ModelTable:
    """The model rows of the index with their fields, filterable by creator or output type."""

    def __init__(self, nodes: list[TextNode]):
        self.rows = [n for n in nodes if n.metadata.get("kind") == "model"]

    def _match(self, field: str, question_words: set[str]) -> tuple[str, list[TextNode]]:
        best: tuple[str, list[TextNode]] = ("", [])
        for row in self.rows:
            value = str(row.metadata.get(f"field_{field}", ""))
            tokens = {_singular(w) for w in content_words(value)} - _WEAK[field]
            hit = tokens & question_words
            if hit:
                key = " ".join(sorted(hit))
                if len(key) > len(best[0]):
                    best = (key, [row])
                elif key == best[0]:
                    best[1].append(row)
        if not best[0]:
            return best
        # Every row whose field contains all the matched words (e.g. all "Facebook AI" rows).
        needed = set(best[0].split())
        rows = [r for r in self.rows
                if needed <= {_singular(w) for w in content_words(str(r.metadata.get(f"field_{field}", "")))}]
        return best[0], rows

    def match(self, question: str) -> TableMatch | None:
        """Rows the question enumerates, or None when it is not a list question over the table."""
        text = normalize(question)
        if not _LIST_INTENT.search(text):
            return None
        question_words = {_singular(w) for w in content_words(text)}
        candidates = [("creator", *self._match("creator", question_words)),
                      ("generates", *self._match("generates", question_words))]
        candidates = [c for c in candidates if c[2]]
        # When both fields match, the verb decides ("made by" -> creator, "generate" -> output).
        if len(candidates) == 2:
            verb = "creator" if _CREATOR_VERBS.search(text) and not _OUTPUT_VERBS.search(text) else None
            verb = verb or ("generates" if _OUTPUT_VERBS.search(text) and not _CREATOR_VERBS.search(text) else None)
            candidates = [c for c in candidates if c[0] == verb] or candidates
        if not candidates:
            return None
        field, value, rows = max(candidates, key=lambda c: len(c[1]))
        return TableMatch(field=field, value=value, nodes=rows)


class TableRetriever(BaseRetriever):
    """Returns every matching model row for list questions; otherwise defers to another retriever."""

    def __init__(self, table: ModelTable, fallback: BaseRetriever):
        super().__init__()
        self.table, self.fallback = table, fallback

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        found = self.table.match(query_bundle.query_str)
        if found is None:
            return self.fallback.retrieve(query_bundle)
        out = []
        for node in found.nodes:
            copy = node.model_copy(deep=False)
            copy.metadata = {**node.metadata, "table_field": found.field, "table_value": found.value}
            out.append(NodeWithScore(node=copy, score=1.0))
        return out
