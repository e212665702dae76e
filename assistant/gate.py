"""Answerability gate: a node postprocessor that decides, before any LLM call, whether
the retrieved passages can answer the question.

Signals (set on each node by the retriever): whether the question names the entry,
the cosine similarity of the question to each passage, and lexical coverage — the
share of the question's focus words (content words that are not entry names nor
words asking for an entry's fields) found in the passages that speak about the
subject. The threshold is calibrated on the gold set's unanswerable questions
(``python -m assistant eval`` plots the calibration curve). Passages below the gate
are kept but marked, so the refusal can name the closest entries.
"""

from __future__ import annotations

import re

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant.text import content_words, normalize

# Stems of question words that ask what an entry is, who made it or what it generates:
# every entry answers those, so they are not evidence either way.
FIELD_STEMS = re.compile(
    r"^(who|creat|make|made|maker|develop|buil|compan|organi|lab|behind|author|credit|responsib|produc|generat|output|"
    r"type|kind|sort|model|system|ai|article|table|list|mean|defin|work|use|used|purpose|known|call|stand|describ|"
    r"explain|differ|compar|relat|role|idea|concept|term|example|analog|doe|say|tell|help|happen|refer|come|accord|"
    r"appear|entr|matter|much|what|how|why|give|mention|talk|cover|includ|descri|entri|each|one|thing)"
)
MIN_COVERAGE = 0.5


def _stem(word: str) -> str:
    return word[:5]


def focus_words(question: str, named_titles: list[str]) -> set[str]:
    """Content words of the question that are not names of entries nor field words."""
    names = {w for title in named_titles for w in content_words(title)}
    return {w for w in content_words(question) if w not in names and not FIELD_STEMS.match(w) and len(w) > 2}


def coverage(focus: set[str], texts: list[str]) -> float:
    """Share of focus words whose 5-letter stem occurs in the texts."""
    if not focus:
        return 1.0
    stems = {_stem(w) for text in texts for w in content_words(text)}
    return sum(_stem(w) in stems for w in focus) / len(focus)


# Questions that ask for a number or a date need one in the evidence (names such as
# "M2M-100" do not count); questions about a person or organisation are answered only by a
# model row's creator field, so they need a model row and a verb of making.
_QUANTITY = re.compile(r"\b(how (many|much|long|old|big|large|fast)"
                       r"|what (year|date|day|month|time|size|price|percentage)"
                       r"|when (was|were|did|is|will))\b", re.I)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|ten|hundred|thousand|million|billion)\b", re.I)
_PERSON = re.compile(r"\bwho(m|se)?\b|\bwhich (person|people|researcher|scientist|company|organi[sz]ation|lab)\b", re.I)
_MAKING = re.compile(r"\b(creat|made|make|develop|buil|behind|credit|responsib|author|produc|design|releas|own|came up)", re.I)


def _evidence_type_ok(question: str, texts: list[str], has_model: bool, names: list[str] = ()) -> bool:  # type: ignore[assignment]
    """False when the question asks for a kind of fact the evidence cannot hold."""
    if _QUANTITY.search(question):
        stripped = texts
        for name in sorted(names, key=len, reverse=True):
            stripped = [t.replace(name, " ") for t in stripped]
        if not any(_NUMBER.search(t) for t in stripped):
            return False
    return not (_PERSON.search(question) and not (has_model and _MAKING.search(question)))


class AnswerabilityGate(BaseNodePostprocessor):
    """Marks nodes ``gate="pass"`` or ``gate="below"``; the synthesizer refuses on ``below``."""

    threshold: float = 0.52

    @classmethod
    def class_name(cls) -> str:
        return "AnswerabilityGate"

    def answerable(self, nodes: list[NodeWithScore], question: str) -> tuple[bool, str]:
        """(verdict, reason) for a retrieval."""
        if not nodes:
            return False, "nothing retrieved"
        if any("table_field" in n.node.metadata for n in nodes):
            return True, "table rows match"
        best = max(float(n.node.metadata.get("vector_score", 0.0)) for n in nodes)
        named = [n for n in nodes if n.node.metadata.get("named")]
        if named:
            names = [str(n.node.metadata.get("names", "")).replace("|", " ") or str(n.node.metadata.get("title", ""))
                     for n in named]
            focus = focus_words(question, names)
            # Evidence about the subject: its own passages and any passage that mentions it.
            name_list = [x for n in named for x in str(n.node.metadata.get("names", "")).split("|") if x]
            about = [n.node.get_content() for n in nodes
                     if n.node.metadata.get("named") or any(normalize(x) in normalize(n.node.get_content()) for x in name_list)]
            about_best = max(float(n.node.metadata.get("vector_score", 0.0)) for n in named)
            covered = coverage(focus, about)
            if not _evidence_type_ok(question, about, any(n.node.metadata.get("kind") == "model" for n in named), name_list):
                return False, "fields-only" if all(n.node.metadata.get("kind") == "model" for n in named) else "no such facts"
            if covered >= MIN_COVERAGE or (covered > 0 and about_best >= self.threshold + 0.1):
                return True, "entry named"
            if all(n.node.metadata.get("kind") == "model" for n in named):
                return False, "fields-only"
            return False, "named entry does not cover the question"
        top = [n.node.get_content() for n in nodes[:3]]
        if not _evidence_type_ok(question, top, any(n.node.metadata.get("kind") == "model" for n in nodes[:3])):
            return False, "no such facts"
        score = best + 0.25 * coverage(focus_words(question, []), top)
        return score >= self.threshold, f"evidence {score:.2f}"

    def _postprocess_nodes(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        question = query_bundle.query_str if query_bundle else ""
        verdict, reason = self.answerable(nodes, question)
        for node in nodes:
            node.node.metadata["gate"] = "pass" if verdict else "below"
            node.node.metadata["gate_reason"] = reason
        return nodes
