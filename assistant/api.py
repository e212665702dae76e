"""The Python API: ``Assistant`` wires settings into LlamaIndex parts and answers questions.

    from assistant import Assistant
    with Assistant.from_settings() as a:
        a.retrieve("What is a VAE?", k=5)      # list[Passage]
        a.ask("What is a VAE?")                # Answer with verified citations
        for event in a.stream("..."): ...      # str deltas, then the final Answer
        a.trace("What is a VAE?")              # Trace: query, passages with signals, gate verdict
        a.health()                             # Health: LLM ready/starting/down (and why), index size

Everything goes through one LlamaIndex query engine (:meth:`Assistant.query_engine`):
``TableRetriever`` → ``HybridRetriever`` → ``AnswerabilityGate`` → ``CitedSynthesizer``.
``ask`` is the last event of ``stream``; ``trace`` runs the same engine's ``retrieve`` (and, if
asked, its synthesizer on the same nodes). Nothing is rebuilt or changed per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llama_index.core.query_engine import RetrieverQueryEngine

from assistant.asks import FieldAsks
from assistant.config import Settings
from assistant.embeddings import build_embed_model
from assistant.errors import IndexMissingError, InputError
from assistant.followup import History, about_last_subject, announces_new_topic, asks_for_more, condense
from assistant.gate import AnswerabilityGate
from assistant.ingest import Ingestor, IngestReport
from assistant.intent import analyze
from assistant.llm import LLMService
from assistant.relevance import SentenceRanker
from assistant.retrieval import HybridRetriever, IndexSnapshot, build_retriever
from assistant.stages import AnalyzedQuery, NodeView, answer_of
from assistant.store import Store
from assistant.synthesizer import CitedSynthesizer, to_passage
from assistant.table import ModelTable, TableRetriever
from assistant.text import Vocabulary, clean_text, content_words, focus_question, is_field_word, kinds_asked, without_markup
from assistant.types import Answer, Health, Passage, Timings, Trace

if TYPE_CHECKING:
    from pathlib import Path

    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.base.response.schema import StreamingResponse

log = logging.getLogger(__name__)
MAX_LEANING_WORDS = 2  # topic words of a question that may lean on the conversation (see Assistant._standalone)


@dataclass(frozen=True)
class Pipeline:
    """The parts built from one index snapshot; swapped whole after an ingest."""

    snapshot: IndexSnapshot
    retriever: HybridRetriever
    table: ModelTable
    titles: dict[str, str]  # entry id -> title
    creators: dict[str, str]  # model entry id -> creator
    outputs: dict[str, str]  # model entry id -> what it generates
    numbers: dict[str, str]  # entry id -> its number in the article's numbered list of concepts
    vocabulary: Vocabulary  # every word of the material and its rarity (the gate's "is this topic here at all")
    subject: str  # what the whole material is about ("Generative AI"): no help in telling its sentences apart

    @classmethod
    def build(cls, store: Store, embed_model: BaseEmbedding, settings: Settings, snapshot: IndexSnapshot) -> Pipeline:
        views = [NodeView.of(n) for n in snapshot.nodes]
        return cls(snapshot=snapshot,
                   retriever=build_retriever(store, embed_model, settings.data_dir, settings.top_k, snapshot),
                   table=ModelTable(snapshot.nodes, embed_model),
                   titles={v.entry_id: v.title for v in views},
                   creators={v.entry_id: v.field("creator") for v in views if v.field("creator")},
                   outputs={v.entry_id: v.field("generates") for v in views if v.field("generates")},
                   numbers={v.entry_id: v.field("number") for v in views if v.field("number")},
                   vocabulary=Vocabulary([n.get_content() for n in snapshot.nodes]),
                   subject=snapshot.subject())


def final_answer(events: Iterator[str | Answer]) -> Answer:
    """The Answer that ends a stream of events."""
    answer = None
    for event in events:
        if isinstance(event, Answer):
            answer = event
    if answer is None:
        raise RuntimeError("the answer stream ended without an Answer")
    return answer


class Assistant:
    """Retrieval, answers and ingest over one index. Build with :meth:`from_settings`."""

    def __init__(self, settings: Settings, store: Store, embed_model: BaseEmbedding, llm: LLMService | None = None):
        self.settings, self.store, self.embed_model = settings, store, embed_model
        self.llm = llm or LLMService(settings)
        self.ranker = SentenceRanker(embed_model)
        self.asks = FieldAsks.load(embed_model, settings.embed_model_name)
        self._lock = threading.RLock()
        self._pipeline: Pipeline | None = None
        self.load_index()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, rebuild: bool = False,
                      embed_model: BaseEmbedding | None = None, llm: LLMService | None = None) -> Assistant:
        """Open the index described by `settings` (default: environment and `.env`).

        With ``rebuild=True`` an index from another chromadb version or embedding model is
        accepted, so that ``ingest(rebuild=True)`` can replace it. ``embed_model`` and ``llm`` may be
        given to share them between assistants.
        """
        settings = settings or Settings()
        if rebuild:
            store = Store.for_rebuild(settings.chroma_path, settings.chroma_url, settings.chroma_collection)
        else:
            store = Store(settings.chroma_path, settings.chroma_url, settings.chroma_collection)
            store.check_embedding(settings.embed_model_name)
        return cls(settings, store, embed_model or build_embed_model(settings), llm)

    # --- index ---------------------------------------------------------------------------
    def load_index(self) -> None:
        """(Re)load the index snapshot and the parts built from it; call after ingest."""
        snapshot = IndexSnapshot.load(self.store)
        pipeline = Pipeline.build(self.store, self.embed_model, self.settings, snapshot) if snapshot.nodes else None
        with self._lock:
            self._snapshot, self._pipeline = snapshot, pipeline

    @property
    def index_size(self) -> int:
        return len(self._snapshot.nodes)

    @property
    def snapshot(self) -> IndexSnapshot:
        """The indexed nodes as read at the last (re)load."""
        return self._snapshot

    def ingest(self, paths: Sequence[Path] = (), knowledge: bool = True, rebuild: bool = False,
               progress: bool = False, *, drop_missing: bool = False) -> IngestReport:
        """Index the knowledge folder and/or files, then reload the retriever. A rebuild re-reads every
        source already indexed and refuses when one is gone, unless ``drop_missing``."""
        ingestor = Ingestor.from_settings(self.settings, self.store, lambda: self.embed_model, progress=progress)
        # Chroma is thread-safe and the store's file lock refuses a second writer, so chats keep
        # running during the ingest; only swapping in the reloaded index takes the lock.
        report = ingestor.ingest(self.settings.knowledge_dir if knowledge else None, list(paths), rebuild=rebuild,
                                 drop_missing=drop_missing)
        self.load_index()
        return report

    def _require_index(self) -> Pipeline:
        self.store.ensure_alive()
        pipeline = self._pipeline
        if pipeline is None:
            raise IndexMissingError("The index is empty; run `python -m assistant ingest` first.")
        return pipeline

    # --- the answer path ------------------------------------------------------------------
    def _clean(self, question: str) -> str:
        if not isinstance(question, str):
            raise InputError("The question must be text.")
        question = clean_text(question).strip()
        if not question:
            raise InputError("The question is empty; type a question about generative AI.")
        if len(question) > self.settings.max_question_chars:
            raise InputError(f"The question is {len(question):,} characters long; the limit is "
                             f"{self.settings.max_question_chars:,} (MAX_QUESTION_CHARS). Please shorten it.")
        return question

    def standalone_query(self, question: str, history: History | None = None) -> str:
        """The question as searched: markup and pleasantries dropped, a follow-up rewritten with its
        subject from the history (a question that stands on its own is left as asked)."""
        return self._standalone(question, history)[0]

    def _standalone(self, question: str, history: History | None = None) -> tuple[str, bool]:
        """The standalone query, and whether it is a follow-up the history rewrote."""
        pipeline = self._require_index()
        names, vocabulary = pipeline.retriever.names, pipeline.vocabulary

        def names_entry(sentence: str) -> bool:
            return bool(names.find(sentence))

        def on_topic(sentence: str) -> bool:  # names an entry, or uses topic words of the material and none it never uses
            topic = [w for w in content_words(sentence) if not is_field_word(w)]
            return names_entry(sentence) or any(map(vocabulary.known, topic)) and all(map(vocabulary.known, topic))

        def focus(text: str) -> str:
            return focus_question(text, names_entry, on_topic)

        question = self._clean(question)
        # "Totally unrelated: how long should a steak rest after it comes off the grill?": no follow-up, whatever it says
        history = [] if announces_new_topic(question) else history
        question = vocabulary.correct(focus(question))
        turns = [(role, focus(clean_text(text)) if role == "user" else clean_text(text)) for role, text in (history or [])]
        query = condense(question, turns, pipeline.retriever.names, pipeline.titles, pipeline.creators, pipeline.outputs,
                         pipeline.numbers)
        if turns and query == question:
            # A question left as asked that names no entry may still lean on the conversation ("same company each
            # time?" after BEiT, which has two rows): read as about its subject when the material answers that reading
            # and not the question as it stands. The gate decides, not the wording: what stands on its own stays as asked, and
            # what neither reading answers ("How deep is Lake Baikal?") is refused as asked.
            # Only a question carrying little of its own leans on what came before: at most two topic words, all of
            # them the material's ("What's the best camera for filming vlogs?" is a new topic, whatever passes).
            topic = [w for w in content_words(question) if not is_field_word(w)]
            leans = len(topic) <= MAX_LEANING_WORDS and all(map(vocabulary.known, topic))
            about = about_last_subject(question, turns, pipeline.retriever.names, pipeline.titles, pipeline.numbers) \
                if leans else None
            if about is not None and not self._answerable(question) and self._answerable(about):
                query = about
        return query, query != question and bool(turns)

    def _answerable(self, query: str) -> bool:
        """Whether the answerability gate passes what the query retrieves."""
        nodes = self.query_engine().retrieve(self.analyze(query))
        return bool(nodes) and NodeView.of(nodes[0]).gate_passed is True

    def analyze(self, query: str, said: str = "", message: str = "") -> AnalyzedQuery:
        """The standalone query with what it asks (kind, named entries, list filter) for every stage; `said`: the
        last answer, which a follow-up asking for more should not repeat; `message`: the whole message the query
        is the ask of, also searched."""
        pipeline = self._require_index()
        return AnalyzedQuery(query_str=query, intent=analyze(query, pipeline.retriever.names, pipeline.table, self.asks),
                             said=said,
                             message=message, kinds=kinds_asked(message or query))

    def _bundle(self, question: str, history: History | None) -> AnalyzedQuery:
        """The analysed standalone query of a question; for a follow-up, with the answer it follows; for a message
        whose other sentences were left out of the query (a situation described before the ask), with the message."""
        query, follow_up = self._standalone(question, history)
        more = follow_up and asks_for_more(clean_text(question))  # "how so?": what the last answer has not said yet
        said = next((text for role, text in reversed(history or []) if role == "assistant"), "") if more else ""
        message = without_markup(clean_text(question))
        return self.analyze(query, said=said, message=message if not follow_up and len(message) > len(query) else "")

    def query_engine(self, streaming: bool = False, k: int | None = None) -> RetrieverQueryEngine:
        """The LlamaIndex query engine every answer goes through:
        table route / hybrid retriever -> answerability gate -> cited synthesizer."""
        pipeline = self._require_index()
        hybrid = pipeline.retriever if k is None else pipeline.retriever.with_top_k(k)
        s = self.settings
        return RetrieverQueryEngine(
            retriever=TableRetriever(pipeline.table, hybrid),
            node_postprocessors=[self.answerability_gate()],
            response_synthesizer=CitedSynthesizer(self.llm, self.ranker, pipeline.retriever.names, streaming=streaming,
                                                  llm_passages=s.llm_passages, llm_sentences=s.llm_sentences,
                                                  compose_answers=s.compose_answers, subject=pipeline.subject))

    def answerability_gate(self, threshold: float | None = None) -> AnswerabilityGate:
        """The gate the engine uses (REFUSAL_THRESHOLD unless given: the eval sweeps it)."""
        return AnswerabilityGate(threshold=self.settings.refusal_threshold if threshold is None else threshold,
                                 vocabulary=self._require_index().vocabulary)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The top-k passages for a question (every matching row for model-table lists), before the gate."""
        question = self._clean(question)
        engine = self.query_engine(k=k or self.settings.top_k)
        return [to_passage(n) for n in engine.retriever.retrieve(self.analyze(question))]

    def trace(self, question: str, history: History | None = None, k: int | None = None, answer: bool = False) -> Trace:
        """One pass through the answer path for inspection: the query, route, passages with their
        signals, the gate's verdict and, with ``answer=True``, the answer made from those passages."""
        started = time.perf_counter()
        bundle = self._bundle(question, history)
        query = bundle.query_str
        engine = self.query_engine(streaming=True, k=k)
        nodes = engine.retrieve(bundle)
        first = NodeView.of(nodes[0]) if nodes else None
        result = Trace(question=question, query=query, route="table" if first and first.table_field else "search",
                       passages=[to_passage(n) for n in nodes], answerable=bool(first and first.gate_passed),
                       reason=first.gate_reason if first else "nothing retrieved", nodes=nodes)
        if answer:
            response = engine.synthesize(bundle, nodes)
            result.answer = final_answer(self._events(response, started))  # type: ignore[arg-type]
        return result

    def stream(self, question: str, history: History | None = None) -> Iterator[str | Answer]:
        """Yield text deltas as the model writes, then the final verified Answer."""
        started = time.perf_counter()
        response = self.query_engine(streaming=True).query(self._bundle(question, history))
        yield from self._events(response, started)  # type: ignore[arg-type]

    def ask(self, question: str, history: History | None = None) -> Answer:
        """Answer a question (with optional history) with verified citations: the end of :meth:`stream`."""
        return final_answer(self.stream(question, history))

    @staticmethod
    def _events(response: StreamingResponse, started: float) -> Iterator[str | Answer]:
        """The response's deltas, then its Answer with the timings (the one definition of TTFT)."""
        first = None
        for delta in response.response_gen:
            if delta and first is None:
                first = time.perf_counter() - started
            yield delta
        answer = answer_of(response)
        total = time.perf_counter() - started
        answer.timings = Timings(first_text_s=first if first is not None else total, total_s=total)
        yield answer

    # --- health and lifecycle ---------------------------------------------------------------
    def start_llm(self) -> Health:
        """Start the LLM (the local server, for the local provider) and check it answers."""
        self.llm.start()
        return self.health()

    def health(self) -> Health:
        """The LLM's state (checked now if it never was) and the index size."""
        if not self.llm.checked_at:
            self.llm.check()
        return Health(llm_state=self.llm.state, llm_error=self.llm.error, llm_provider=self.settings.llm_provider,
                      llm_model=self.settings.llm_model_name, llm_url=self.llm.url, index_size=self.index_size,
                      checked_at=self.llm.checked_at, llm_restarts=self.llm.restarts)

    def close(self) -> None:
        """Stop the local LLM server if this assistant started it, and close the store."""
        self.llm.close()
        self.store.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
