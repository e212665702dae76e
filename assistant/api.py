"""The Python API: ``Assistant`` wires settings into LlamaIndex parts and answers questions.

    from assistant import Assistant
    with Assistant.from_settings() as a:
        a.retrieve("What is a VAE?", k=5)      # list[Passage]
        a.ask("What is a VAE?")                # Answer with verified citations
        for event in a.stream("..."): ...      # str deltas, then the final Answer
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import QueryBundle

from assistant.chunking import Chunker
from assistant.config import Settings
from assistant.embeddings import build_embed_model
from assistant.errors import IndexMissingError, InputError
from assistant.followup import History, condense
from assistant.gate import AnswerabilityGate
from assistant.ingest import Ingestor, IngestReport
from assistant.llm import LocalLLMServer, build_llm, endpoint_alive
from assistant.retrieval import HybridRetriever, IndexSnapshot, build_retriever
from assistant.store import Store
from assistant.synthesizer import CitedSynthesizer, to_passage
from assistant.table import ModelTable, TableRetriever
from assistant.text import clean_text
from assistant.types import Answer, Passage

if TYPE_CHECKING:
    from pathlib import Path

    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import LLM

log = logging.getLogger(__name__)


class Assistant:
    """Retrieval, answers and ingest over one index. Build with :meth:`from_settings`."""

    def __init__(self, settings: Settings, store: Store, embed_model: BaseEmbedding):
        self.settings, self.store, self.embed_model = settings, store, embed_model
        self._lock = threading.RLock()
        self._llm: LLM | None = None
        self._server: LocalLLMServer | None = None
        self.retriever: HybridRetriever | None = None
        self.load_index()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, rebuild: bool = False) -> Assistant:
        """Open the index described by `settings` (default: environment and `.env`).

        With ``rebuild=True`` an index from another chromadb version or embedding model is
        accepted, so that ``ingest(rebuild=True)`` can replace it.
        """
        settings = settings or Settings()
        if rebuild:
            store = Store.for_rebuild(settings.chroma_path, settings.chroma_url, settings.chroma_collection)
        else:
            store = Store(settings.chroma_path, settings.chroma_url, settings.chroma_collection)
            store.check_embedding(settings.embed_model_name)
        return cls(settings, store, build_embed_model(settings))

    # --- index ---------------------------------------------------------------------------
    def load_index(self) -> None:
        """(Re)load BM25, names and the model table from the store; call after ingest."""
        with self._lock:
            snapshot = IndexSnapshot.load(self.store)
            self.snapshot = snapshot
            if not snapshot.nodes:
                self.retriever = None
                return
            self.retriever = build_retriever(self.store, self.embed_model, self.settings.data_dir, self.settings.top_k, snapshot)
            self.table = ModelTable(snapshot.nodes)
            self.titles = {str(n.metadata.get("entry_id")): str(n.metadata.get("title")) for n in snapshot.nodes}
            self.creators = {str(n.metadata["entry_id"]): str(n.metadata["field_creator"])
                             for n in snapshot.nodes if n.metadata.get("field_creator")}

    @property
    def index_size(self) -> int:
        return len(self.snapshot.nodes)

    def ingest(self, paths: list[Path] = (), knowledge: bool = True, rebuild: bool = False,  # type: ignore[assignment]
               progress: bool = False) -> IngestReport:
        """Index the knowledge folder and/or files, then reload the retriever."""
        ingestor = Ingestor(self.store, lambda: self.embed_model, self.settings.embed_model_name,
                            Chunker(self.settings.chunk_size, self.settings.chunk_overlap),
                            int(self.settings.max_file_mb * 1e6), progress=progress)
        # Chroma is thread-safe and the store's file lock refuses a second writer, so chats keep
        # running during the ingest; only swapping in the reloaded index takes the lock.
        report = ingestor.ingest(self.settings.knowledge_dir if knowledge else None, list(paths), rebuild=rebuild)
        self.load_index()
        return report

    def _require_index(self) -> HybridRetriever:
        self.store.ensure_alive()
        if self.retriever is None:
            raise IndexMissingError("The index is empty; run `python -m assistant ingest` first.")
        return self.retriever

    # --- questions ----------------------------------------------------------------------
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

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The top-k passages for a question (hybrid retrieval, named entries first)."""
        retriever = self._require_index()
        question = self._clean(question)
        with self._lock:
            retriever.top_k = k or self.settings.top_k
            try:
                nodes = retriever.retrieve(QueryBundle(question))
            finally:
                retriever.top_k = self.settings.top_k
        return [to_passage(n) for n in nodes]

    def standalone_query(self, question: str, history: History | None = None) -> str:
        """The follow-up rewritten with its subject from the history."""
        question = self._clean(question)
        retriever = self._require_index()
        turns = [(role, clean_text(text)) for role, text in (history or [])]
        return condense(question, turns, retriever.names, self.titles, self.creators)

    def retrieve_nodes(self, query: str) -> list:
        """Nodes the answer path would see for a standalone query (table filter, then hybrid)."""
        return TableRetriever(self.table, self._require_index()).retrieve(QueryBundle(query))

    def answerable(self, query: str, threshold: float | None = None) -> tuple[bool, str]:
        """The answerability gate's verdict for a standalone query, without any LLM call."""
        gate = AnswerabilityGate(threshold=self.settings.refusal_threshold if threshold is None else threshold)
        return gate.answerable(self.retrieve_nodes(query), query)

    @property
    def llm(self) -> LLM:
        """The chat LLM; for the local provider, starts the bundled server if nothing answers."""
        with self._lock:
            if self._llm is None:
                if self.settings.llm_provider == "local" and not endpoint_alive(self.settings.local_llm_url):
                    self._server = LocalLLMServer(self.settings)
                    self._server.start()
                self._llm = build_llm(self.settings)
            return self._llm

    def query_engine(self, streaming: bool = False) -> RetrieverQueryEngine:
        """A LlamaIndex query engine: table/hybrid retriever -> answerability gate -> cited synthesizer."""
        retriever = TableRetriever(self.table, self._require_index())
        gate = AnswerabilityGate(threshold=self.settings.refusal_threshold)
        synthesizer = CitedSynthesizer(llm=self.llm, llm_url=self.settings.llm_url, streaming=streaming,
                                       llm_passages=self.settings.llm_passages)
        return RetrieverQueryEngine(retriever=retriever, node_postprocessors=[gate], response_synthesizer=synthesizer)

    def ask(self, question: str, history: History | None = None) -> Answer:
        """Answer a question (with optional history) with verified citations."""
        query = self.standalone_query(question, history)
        response = self.query_engine().query(query)
        return response.metadata["answer"]  # type: ignore[index]

    def stream(self, question: str, history: History | None = None) -> Iterator[str | Answer]:
        """Yield text deltas as the model writes, then the final verified Answer."""
        query = self.standalone_query(question, history)
        response = self.query_engine(streaming=True).query(query)
        yield from response.response_gen  # type: ignore[union-attr,misc]
        yield response.metadata["answer"]  # type: ignore[union-attr,index]

    # --- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        """Stop the local LLM server if this assistant started it."""
        if self._server:
            self._server.stop()
            self._server = None
        self._llm = None
        self.store.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
