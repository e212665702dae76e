"""Response synthesizer that answers only with verified citations.

Five outcomes, in this order:
* refused — the answerability gate marked the passages ``below`` (no LLM call);
* structured — list questions over the model table, and definition / creator / output /
  comparison questions about named entries: built from the entries' fields and definitions
  (:mod:`assistant.compose`, no LLM call);
* generated — the LLM reads the passages' most relevant sentences and answers; only sentences a
  cited passage supports survive (:func:`~assistant.citations.verify_answer`), shown as the source's
  own sentence, and only those about the question's subject;
* extractive — when nothing of the LLM's answer survives (or the LLM failed): the most relevant
  sentences themselves, cited.

One code path: :meth:`CitedSynthesizer.events` yields the model's text deltas, then the final
:class:`~assistant.types.Answer`; a streaming response hands the deltas on, a non-streaming one
consumes them. The Answer leaves in the response's metadata (see :mod:`assistant.stages`).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.base.response.schema import Response, StreamingResponse
from llama_index.core.indices.prompt_helper import PromptHelper
from llama_index.core.response_synthesizers.base import BaseSynthesizer
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant import prompts
from assistant.citations import verify_answer
from assistant.compose import compose, lead
from assistant.errors import LLMError
from assistant.intent import Intent, Kind, asks_about_fields, topic_phrase
from assistant.relevance import (
    ASKS_FOR_ANOTHER,
    NAMING,
    POINTS_BACK,
    Candidate,
    SentenceRanker,
    about,
    asked_for,
    candidates,
    explained_after,
    focus,
    names_entry,
    on_subject,
)
from assistant.stages import ANSWER, NodeView, intent_of, kinds_of, said_of
from assistant.table import asks_the_table
from assistant.text import named_as_example, normalize
from assistant.types import Answer, Citation, Passage

if TYPE_CHECKING:
    from assistant.llm import LLMService
    from assistant.retrieval import NameIndex

_FENCE = re.compile(r"<{3,}|>{3,}")  # the passage fence's brackets, wherever they appear in data


def to_passage(node: NodeWithScore) -> Passage:
    """The API's view of a retrieved node."""
    view = NodeView.of(node)
    return Passage(entry_id=view.entry_id, title=view.title, kind=view.kind, text=node.node.get_content(),
                   score=float(node.score or 0.0), source=view.source, section=view.section, node_id=node.node.node_id)


def refusal(query: str, passages: list[Passage], reason: str) -> Answer:
    """A refusal that says what was searched and names the closest entries."""
    titles = list(dict.fromkeys(p.title for p in passages))[:3]
    if reason == "fields-only":
        closest = prompts.REFUSAL_FIELDS.format(fields="the creator and what it generates", titles=", ".join(titles))
    else:
        closest = prompts.REFUSAL_CLOSEST.format(titles=", ".join(titles)) if titles else ""
    return Answer(text=prompts.REFUSAL_TEMPLATE.format(query=query, closest=closest), refused=True,
                  passages=passages, query=query, mode="refused")


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


def build_messages(query: str, passages: list[Passage], texts: list[str] | None = None) -> list[ChatMessage]:
    """System prompt plus the question with passages fenced as data (`texts`: the sentences of each
    passage given to the model, when not all of it)."""
    shown = [p if texts is None else Passage(**{**p.to_dict(), "text": t}) for p, t in zip(passages, texts or passages,
                                                                                            strict=True)]
    context = "\n".join(prompts.PASSAGE_TEMPLATE.format(number=i, text=_titled(p)) for i, p in enumerate(shown, 1))
    question = prompts.QUESTION_TEMPLATE.format(passages=context, question=as_data(query))
    return [ChatMessage(role=MessageRole.SYSTEM, content=prompts.SYSTEM_PROMPT),
            ChatMessage(role=MessageRole.USER, content=question)]


def _cite(number: int, passage: Passage, quote: str) -> Citation:
    return Citation(number=number, entry_id=passage.entry_id, title=passage.title, quote=quote,
                    passage_text=passage.text, source=passage.source, section=passage.section)


def _assemble(chosen: list[Candidate], passages: list[Passage], opening: frozenset[str] = frozenset(),
              naming: bool = False) -> tuple[str, list[Citation]]:
    """Answer text from source sentences, in passage order; a sentence that opens by pointing back
    ("It is used ...", "This technique ...") without the sentence it points to before it is led by
    its entry's name (glossary, concepts, model rows, and a section's first sentence, whose "These"
    is the heading: `opening` holds the node ids of entries' first chunks) or preceded by that
    sentence (prose). When the question asks for a name (`naming`) and no sentence of an entry says
    it, the entry's first sentence is led by its title ("Multimodal Alignment: Example: You describe ...")."""
    parts: list[str] = []
    citations: list[Citation] = []
    previous: Candidate | None = None
    unnamed = {c.entry_id for c in chosen} - {c.entry_id for c in chosen if names_entry(c)} if naming else set()
    for c in sorted(chosen, key=lambda c: (c.number, c.position)):
        passage = passages[c.number - 1]
        follows = previous is not None and previous.number == c.number and previous.position == c.position - 1
        shown = c.sentence
        if c.entry_id in unnamed:
            unnamed.discard(c.entry_id)
            shown = f"{passage.title}: {c.sentence}"
        if POINTS_BACK.match(c.sentence) and not follows:
            before = [x for x in candidates([passage]) if x.position < c.position]
            if passage.kind in ("glossary", "concept", "model") or (not before and passage.node_id in opening):
                shown = lead(passage.title, c.sentence)
            else:
                before = [x for x in before if x.position == c.position - 1]
                if not before:
                    continue  # nothing says what "it" is: the sentence cannot stand alone
                parts.append(f"{before[0].sentence} [{c.number}]")
                citations.append(_cite(c.number, passage, before[0].sentence))
        parts.append(f"{shown} [{c.number}]")
        citations.append(_cite(c.number, passage, c.sentence))
        previous = c
    return " ".join(parts), citations


class CitedSynthesizer(BaseSynthesizer):
    """Turns gated nodes into a cited Answer; the LLM is reached only through an :class:`LLMService`.

    ``ranker`` scores sentences against the question (the LLM reads only the ``llm_sentences`` best
    of the ``llm_passages`` best passages; answers keep only sentences on the question's subject);
    ``names`` finds the names of the question's entries; ``compose_answers`` turns on answers built
    from the entries themselves for definitions, creators, outputs and comparisons."""

    def __init__(self, llm: LLMService, ranker: SentenceRanker, names: NameIndex, streaming: bool = False,
                 llm_passages: int = 3, llm_sentences: int = 4, compose_answers: bool = True, subject: str = ""):
        # BaseSynthesizer wants a LlamaIndex LLM: the service's client (built without connecting).
        super().__init__(llm=llm.client, streaming=streaming, prompt_helper=PromptHelper())
        self.service, self.ranker, self.names = llm, ranker, names
        self.llm_passages, self.llm_sentences, self.compose_answers = llm_passages, llm_sentences, compose_answers
        self.subject = subject  # what the whole material is about; see SentenceRanker.score

    def _get_prompts(self) -> dict[str, Any]:
        return {}

    def _update_prompts(self, prompts_dict: dict[str, Any]) -> None:
        return None

    def get_response(self, query_str: str, text_chunks: Sequence[str], **kwargs: Any) -> str:
        raise TypeError("CitedSynthesizer needs nodes; call synthesize().")

    async def aget_response(self, query_str: str, text_chunks: Sequence[str], **kwargs: Any) -> str:
        raise TypeError("CitedSynthesizer needs nodes; call synthesize().")

    def events(self, query: QueryBundle, nodes: list[NodeWithScore]) -> Iterator[str | Answer]:
        """The one answer path: the model's text deltas as they arrive, then the verified Answer."""
        question = query.query_str
        intent = intent_of(query) or Intent(Kind.OTHER)
        passages = [to_passage(n) for n in nodes]
        first = NodeView.of(nodes[0]) if nodes else None
        answer: Answer | None = None
        if first is None or first.gate_passed is False:
            answer = refusal(question, passages, first.gate_reason if first else "")
        elif intent.kind is Kind.LIST or self.compose_answers or first.table_field:
            answer = compose(question, intent, nodes, passages)
        if answer is None:
            opening = frozenset(n.node.node_id for n in nodes if NodeView.of(n).chunk == 0)
            yield from self._generate(query, intent, passages[: self.llm_passages], opening)
            return
        yield answer.text
        yield answer

    def _without_examples(self, question: str, intent: Intent) -> Intent:
        """The intent without the entries the question names only as examples of what it asks about: "Why can
        pictures from diffusion-based systems such as Stable Diffusion look so realistic?" asks about diffusion-based
        systems, and the sentence that answers need not name Stable Diffusion."""
        kept = tuple(s for s in intent.subjects if not named_as_example(question, self.names.names_of(s)))
        return intent if kept == intent.subjects else replace(intent, subjects=kept)

    def _subject_names(self, intent: Intent) -> list[str]:
        return [n for s in intent.subjects for n in self.names.names_of(s)]

    def _on_subject_names(self, question: str, intent: Intent) -> list[str]:
        """The names that put a sentence on the subject: the subject's, plus the part of it a how/why question
        asks about ("How does the discriminator in a GAN know ...?" is answered by a sentence on the
        discriminator, whichever entry it is in)."""
        names = self._subject_names(intent)
        topic = topic_phrase(question)
        if intent.kind is Kind.EXPLAIN and intent.subjects and topic and not self.names.find(topic) and focus(topic):
            names.append(topic)
        return names

    def _subjects(self, intent: Intent, passages: list[Passage]) -> set[str]:
        """The question's entries, and the passages' entries whose title holds one of their names
        ("Transfer Learning in Generative AI" for "transfer learning"): both are on the subject."""
        names = [normalize(n) for n in self._subject_names(intent) if len(n) > 2]
        titled = {p.entry_id for p in passages if any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", normalize(p.title))
                                                      for n in names)}
        return set(intent.subjects) | titled

    def _generate(self, query: QueryBundle, intent: Intent, passages: list[Passage],
                  opening: frozenset[str] = frozenset()) -> Iterator[str | Answer]:
        """The LLM reads the most relevant sentences; its verified sentences on the subject are kept,
        else the most relevant sentences themselves are the answer (extractive). `opening`: node ids
        of entries' first chunks (see :func:`_assemble`)."""
        question = query.query_str
        intent = self._without_examples(question, intent)
        # A model row ("X — creator: Y — generates: Z") answers only questions about that model, and when prose
        # speaks of the model too, only those about its creator or output ("How does Stable Diffusion work?").
        every = candidates(passages)
        prose = [c for c in every if passages[c.number - 1].kind != "model"]
        spoken_of = any(about(c, set(), self._subject_names(intent)) for c in prose)
        rows_answer = asks_about_fields(question) or not spoken_of
        # ("I need to pull the text out of scanned receipts. Is there something in the model table for that?": any row)
        any_row = not intent.subjects and asks_the_table(question)
        # ("does the glossary explain the idea behind it?" after ViT's row: the glossary's entry, not the row)
        rows_wanted = kinds_of(query) is None or intent.kind in (Kind.CREATOR, Kind.OUTPUT, Kind.LIST)
        found = prose + [c for c in every if passages[c.number - 1].kind == "model" and rows_wanted
                         and (c.entry_id in intent.subjects and rows_answer or any_row)]
        found.sort(key=lambda c: (c.number, c.position))
        if not found:
            refused = refusal(question, passages, "no sentence answers")
            yield refused.text
            yield refused
            return
        subjects, names = self._subjects(intent, passages), self._subject_names(intent)
        scored = list(zip(self.ranker.score(question, found, query.embedding, names, self.subject), found, strict=True))
        on_names = self._on_subject_names(question, intent)
        others = [(s, c) for s, c in scored if c.entry_id not in intent.subjects]
        if intent.subjects and others and ASKS_FOR_ANOTHER.search(question):
            # "Which loss function is used to learn embedding spaces?": another entry than the one named answers,
            # the one whose sentences fit best
            scored, subjects, on_names = others, set(), []
        pool = on_subject(scored, subjects, on_names, limit=len(scored))
        said = normalize(said_of(query))
        unsaid = [(s, c) for s, c in scored if _body(c) not in said] if said else scored
        fresh = on_subject(unsaid, subjects, on_names, limit=len(unsaid)) if len(unsaid) < len(scored) else []
        if fresh:  # "how so?" after an answer: what it did not say yet, while the subject has more
            pool, scored = fresh, unsaid
        pool = pool or sorted(scored, key=lambda x: x[0], reverse=True)
        sides = _each_side(question, intent, scored)
        pool = sides + [x for x in pool if x not in sides]  # "How does the article describe each?": every one read
        prompt_sentences = sorted((c for _, c in pool[: self.llm_sentences]), key=lambda c: (c.number, c.position))
        numbers = list(dict.fromkeys(c.number for c in prompt_sentences))
        sent = [passages[n - 1] for n in numbers]
        texts = [" ".join(c.sentence for c in prompt_sentences if c.number == n) for n in numbers]
        raw, notice, incomplete = "", "", False
        try:
            for delta in self.service.stream_chat(build_messages(question, sent, texts)):
                raw += delta
                if delta:
                    yield delta
        except LLMError as exc:
            notice, incomplete = str(exc), bool(raw)
        yield self._finish(question, intent, sent, raw, scored, numbers, notice, incomplete, opening)

    def _finish(self, question: str, intent: Intent, sent: list[Passage], raw: str, scored: list[tuple[float, Candidate]],
                numbers: list[int], notice: str, incomplete: bool, opening: frozenset[str] = frozenset()) -> Answer:
        """Verify the model's answer against the passages it was given and keep what is on the subject."""
        renumber = {old: new for new, old in enumerate(numbers, 1)}  # candidates' passage numbers -> those the model saw
        local = [(s, Candidate(renumber[c.number], c.position, c.sentence, c.entry_id, c.title)) for s, c in scored
                 if c.number in renumber]
        allowed = on_subject(local, self._subjects(intent, sent), self._on_subject_names(question, intent), limit=len(local))
        allowed_keys = {(c.number, normalize(c.sentence)) for _, c in allowed}
        checked = verify_answer(raw, sent, query=question) if raw.strip() else None
        kept: list[Candidate] = []
        for citation in checked.citations if checked else []:
            key = (citation.number, normalize(citation.quote))
            match = next((c for _, c in local if (c.number, normalize(c.sentence)) == key), None)
            if match is not None and key in allowed_keys and match not in kept:
                kept.append(match)
        unsupported = checked.unsupported if checked else []
        naming = bool(NAMING.search(question))  # "What's the term for ...?": the answer says the entry's name
        if kept and allowed and allowed[0][1] not in kept:
            kept.insert(0, allowed[0][1])  # the model passed over the sentence most relevant to the question
        asking = asked_for(question)
        giving = next((c for _, c in allowed if asking and asking[1].search(f"{c.title} {c.sentence}")), None)
        if kept and giving is not None and giving not in kept:
            kept.append(giving)  # ... or over the one that gives what it asks for: "What challenges ...?" -> the list
        sides = [c for _, c in _each_side(question, intent, local)]
        kept += [c for c in sides if kept and c not in kept]  # "... describe each?": no side left out
        best = kept[0] if kept else allowed[0][1] if allowed else None
        # "Why ... counterintuitive?": the sentence saying so, then the one saying why
        after = explained_after(question, best, sent[best.number - 1]) if best is not None else None
        if kept and after is not None and after not in kept:
            kept.append(after)
        if kept:
            text, citations = _assemble(kept, sent, opening, naming)
            note = prompts.UNSUPPORTED_NOTICE if unsupported else ""
            return Answer(text=text, citations=citations, passages=sent, query=question, mode="generated",
                          unsupported=unsupported, incomplete=incomplete, notice=" ".join(filter(None, [notice, note])))
        chosen = [c for _, c in allowed[:3]] or [c for _, c in sorted(local, key=lambda x: x[0], reverse=True)[:1]]
        chosen = (sides + [c for c in chosen if c not in sides])[: max(3, len(sides))] if sides else chosen
        if after is not None and after not in chosen:
            chosen.append(after)
        text, citations = _assemble(chosen, sent, opening, naming)
        if not text:
            refused = refusal(question, sent, "no sentence answers")
            refused.notice = notice
            return refused
        return Answer(text=text, citations=citations, passages=sent, query=question, mode="extractive",
                      unsupported=unsupported, incomplete=incomplete, notice=notice)

    def synthesize(self, query: QueryBundle | str, nodes: list[NodeWithScore],
                   additional_source_nodes: Sequence[NodeWithScore] | None = None, **kwargs: Any) -> Response | StreamingResponse:
        bundle = query if isinstance(query, QueryBundle) else QueryBundle(query)
        events = self.events(bundle, nodes)
        if self._streaming:
            metadata: dict[str, Any] = {}
            return StreamingResponse(response_gen=_deltas(events, metadata), source_nodes=nodes, metadata=metadata)
        answer = [e for e in events if isinstance(e, Answer)][-1]
        return Response(response=answer.text, source_nodes=nodes, metadata={ANSWER: answer})


# A question about several named entries that wants each of them: "How does the article describe each way?"
_EACH = re.compile(r"\b(each|both|respectively|the two of them|all three)\b", re.I)


def _each_side(question: str, intent: Intent, scored: list[tuple[float, Candidate]]) -> list[tuple[float, Candidate]]:
    """When the question names two or more entries and asks about each, the best sentence of each of them (in the
    order the question names them); else none."""
    if len(intent.subjects) < 2 or not _EACH.search(question):
        return []
    best: dict[str, tuple[float, Candidate]] = {}
    for score, candidate in sorted(scored, key=lambda x: x[0], reverse=True):
        if candidate.entry_id in intent.subjects:
            best.setdefault(candidate.entry_id, (score, candidate))
    return [best[s] for s in intent.subjects if s in best]


def _body(candidate: Candidate) -> str:
    """A candidate sentence as an answer shows it, normalised, without the "Title:" it may open with."""
    text = normalize(candidate.sentence)
    title = normalize(f"{candidate.title}:")
    return (text[len(title):] if text.startswith(title) else text).strip(" .!?")


def _deltas(events: Iterator[str | Answer], metadata: dict[str, Any]) -> Generator[str, None, None]:
    """The text deltas of `events`; the final Answer is put in `metadata` when the stream ends."""
    for event in events:
        if isinstance(event, Answer):
            metadata[ANSWER] = event
        else:
            yield event
