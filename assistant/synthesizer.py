"""Response synthesizer that answers only with verified citations.

Four outcomes, in this order:
* refused — the answerability gate marked the passages ``below`` (no LLM call);
* structured — list questions over the model table: every matching row, each cited (no LLM call);
* generated — the LLM's answer, keeping only sentences a cited passage supports;
* extractive — when nothing of the LLM's answer survives (or the LLM failed), the
  passages' own best sentences, cited.
The final :class:`~assistant.types.Answer` travels in ``response.metadata["answer"]``.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.llms import LLM
from llama_index.core.response_synthesizers.base import BaseSynthesizer
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant import prompts
from assistant.citations import extractive_answer, verify_answer
from assistant.errors import LLMError
from assistant.llm import call_errors
from assistant.text import normalize
from assistant.types import Answer, Citation, Passage

_FENCE = re.compile(r"<{3,}|>{3,}")  # the passage fence's brackets, wherever they appear in data


def to_passage(node: NodeWithScore) -> Passage:
    """The API's view of a retrieved node."""
    meta = node.node.metadata
    return Passage(entry_id=str(meta.get("entry_id", node.node.node_id)), title=str(meta.get("title", "")),
                   kind=str(meta.get("kind", "")), text=node.node.get_content(), score=float(node.score or 0.0),
                   source=str(meta.get("source", "")), section=str(meta.get("section", "")), node_id=node.node.node_id)


def refusal(query: str, passages: list[Passage], reason: str) -> Answer:
    """A refusal that says what was searched and names the closest entries."""
    titles = list(dict.fromkeys(p.title for p in passages))[:3]
    if reason == "fields-only":
        closest = prompts.REFUSAL_FIELDS.format(fields="the creator and what it generates", titles=", ".join(titles))
    else:
        closest = prompts.REFUSAL_CLOSEST.format(titles=", ".join(titles)) if titles else ""
    return Answer(text=prompts.REFUSAL_TEMPLATE.format(query=query, closest=closest), refused=True,
                  passages=passages, query=query, mode="refused")


def table_answer(query: str, nodes: list[NodeWithScore], passages: list[Passage]) -> Answer:
    """List every matching model row, one citation each."""
    meta = nodes[0].node.metadata
    noun = "model" if len(nodes) == 1 else "models"
    lines = [prompts.TABLE_INTRO.format(count=len(nodes), noun=noun, what=meta["table_value"])]
    citations = []
    for number, passage in enumerate(passages, 1):
        lines.append(f"- {passage.text} [{number}]")
        citations.append(Citation(number=number, entry_id=passage.entry_id, title=passage.title, quote=passage.text,
                                  passage_text=passage.text, source=passage.source, section=passage.section))
    return Answer(text="\n".join(lines), citations=citations, passages=passages, query=query, mode="structured")


def as_data(text: str) -> str:
    """One line of untrusted text that cannot close the passage fence (``PASSAGES>>>``)."""
    return _FENCE.sub(" ", " ".join(text.split()))


def _titled(passage: Passage) -> str:
    """The passage's text, led by its title unless it already starts with it (glossary entries
    do; a repeated "Title: Title:" is what small models then copy)."""
    text = as_data(passage.text)
    if not passage.title or normalize(text).startswith(normalize(passage.title)):
        return text
    return prompts.TITLED_TEMPLATE.format(title=as_data(passage.title), text=text)


def build_messages(query: str, passages: list[Passage]) -> list[ChatMessage]:
    """System prompt plus the question with passages fenced as data."""
    context = "\n".join(prompts.PASSAGE_TEMPLATE.format(number=i, text=_titled(p)) for i, p in enumerate(passages, 1))
    question = prompts.QUESTION_TEMPLATE.format(passages=context, question=as_data(query))
    return [ChatMessage(role=MessageRole.SYSTEM, content=prompts.SYSTEM_PROMPT),
            ChatMessage(role=MessageRole.USER, content=question)]


def finish(query: str, passages: list[Passage], raw: str, notice: str = "", incomplete: bool = False) -> Answer:
    """Verify a raw model answer; fall back to an extractive one when nothing is supported."""
    checked = verify_answer(raw, passages, query=query) if raw.strip() else None
    if checked and checked.supported:
        note = prompts.UNSUPPORTED_NOTICE if checked.unsupported else ""
        return Answer(text=checked.text, citations=checked.citations, passages=passages, query=query, mode="generated",
                      unsupported=checked.unsupported, incomplete=incomplete, notice=" ".join(filter(None, [notice, note])))
    fallback = extractive_answer(query, passages)
    return Answer(text=fallback.text, citations=fallback.citations, passages=passages, query=query, mode="extractive",
                  unsupported=checked.unsupported if checked else [], incomplete=incomplete,
                  notice=notice)


class CitedSynthesizer(BaseSynthesizer):
    """Turns gated nodes into a cited Answer (streaming or not)."""

    def __init__(self, llm: LLM, llm_url: str = "", streaming: bool = False, llm_passages: int = 3):
        super().__init__(llm=llm, streaming=streaming)
        # Only the best `llm_passages` reach the model: prompt reading dominates a small local
        # model's time to first token. Refusals and table answers still see every passage.
        self.llm_url, self.llm_passages = llm_url, llm_passages

    def _get_prompts(self) -> dict[str, Any]:
        return {}

    def _update_prompts(self, prompts_dict: dict[str, Any]) -> None:
        return None

    def get_response(self, query_str: str, text_chunks: Sequence[str], **kwargs: Any) -> str:
        raise TypeError("CitedSynthesizer needs nodes; call synthesize().")

    async def aget_response(self, query_str: str, text_chunks: Sequence[str], **kwargs: Any) -> str:
        raise TypeError("CitedSynthesizer needs nodes; call synthesize().")

    def _without_llm(self, query: str, nodes: list[NodeWithScore], passages: list[Passage]) -> Answer | None:
        if not nodes or nodes[0].node.metadata.get("gate") == "below":
            reason = str(nodes[0].node.metadata.get("gate_reason", "")) if nodes else ""
            return refusal(query, passages, reason)
        if "table_field" in nodes[0].node.metadata:
            return table_answer(query, nodes, passages)
        return None

    def synthesize(self, query: QueryBundle | str, nodes: list[NodeWithScore],
                   additional_source_nodes: Sequence[NodeWithScore] | None = None, **kwargs: Any) -> Response | StreamingResponse:
        query_str = query.query_str if isinstance(query, QueryBundle) else query
        passages = [to_passage(n) for n in nodes]
        ready = self._without_llm(query_str, nodes, passages)
        if ready is None:
            nodes, passages = nodes[: self.llm_passages], passages[: self.llm_passages]
        if self._streaming:
            metadata: dict[str, Any] = {}
            gen = self._stream(query_str, passages, metadata) if ready is None else self._once(ready, metadata)
            return StreamingResponse(response_gen=gen, source_nodes=nodes, metadata=metadata)
        if ready is None:
            try:
                with call_errors(self.llm_url):
                    raw = self._llm.chat(build_messages(query_str, passages)).message.content or ""
                ready = finish(query_str, passages, raw)
            except LLMError as exc:
                ready = finish(query_str, passages, "", notice=str(exc))
        return Response(response=ready.text, source_nodes=nodes, metadata={"answer": ready})

    @staticmethod
    def _once(answer: Answer, metadata: dict[str, Any]) -> Generator[str, None, None]:
        metadata["answer"] = answer
        yield answer.text

    def _stream(self, query: str, passages: list[Passage], metadata: dict[str, Any]) -> Generator[str, None, None]:
        raw, notice, incomplete = "", "", False
        try:
            with call_errors(self.llm_url):
                for chunk in self._llm.stream_chat(build_messages(query, passages)):
                    delta = chunk.delta or ""
                    raw += delta
                    if delta:
                        yield delta
        except LLMError as exc:
            notice, incomplete = str(exc), bool(raw)
        metadata["answer"] = finish(query, passages, raw, notice=notice, incomplete=incomplete)
