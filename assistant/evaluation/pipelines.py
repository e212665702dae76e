"""Retrieval pipelines scored side by side: ours, LlamaIndex defaults, and BM25 only; and the
LlamaIndex defaults' query engine for answers.

* ``ours`` — the project's retriever (hybrid, named entries first, model-table filter).
* ``llamaindex-default`` — what a user gets from LlamaIndex out of the box on the same
  material: ``SentenceSplitter`` 1024/200 over ``knowledge/source/*.txt``, vector-only, top 5,
  same embedding model; for answers, ``as_query_engine(llm=..., similarity_top_k=5, streaming=True)``.
* ``bm25`` — ``BM25Retriever`` alone over our entry-aware nodes.
All receive the same standalone query (follow-ups condensed the same way), so the
comparison isolates retrieval.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.node_parser import SentenceSplitter

if TYPE_CHECKING:
    from assistant.api import Assistant

Retrieve = Callable[[str], list[str]]  # query -> passage texts in rank order
# Built once per assistant (retrieval and answers share it); freed with the assistant.
_INDEXES: weakref.WeakKeyDictionary[Assistant, VectorStoreIndex] = weakref.WeakKeyDictionary()


def ours(assistant: Assistant, k: int) -> Retrieve:
    """The project's own path (model-table route, then hybrid), through the public API."""
    return lambda query: [p.text for p in assistant.retrieve(query, k=k)]


def default_index(assistant: Assistant) -> VectorStoreIndex:
    """LlamaIndex defaults over the source article(s): SentenceSplitter 1024/200, the same embedding model."""
    if assistant not in _INDEXES:
        source = assistant.settings.knowledge_dir / "source"
        paths = sorted(source.glob("*.txt"))
        if not paths:
            raise FileNotFoundError(f"no source text in {source} for the LlamaIndex defaults")
        documents = [Document(text=p.read_text(encoding="utf-8"), metadata={"file_name": p.name}) for p in paths]
        nodes = SentenceSplitter(chunk_size=1024, chunk_overlap=200).get_nodes_from_documents(documents)
        _INDEXES[assistant] = VectorStoreIndex(nodes, embed_model=assistant.embed_model)
    return _INDEXES[assistant]


def llamaindex_default(assistant: Assistant, k: int) -> Retrieve:
    retriever = default_index(assistant).as_retriever(similarity_top_k=k)
    return lambda query: [n.node.get_content() for n in retriever.retrieve(query)]


def bm25(assistant: Assistant, k: int) -> Retrieve:
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    retriever = BM25Retriever.from_defaults(nodes=assistant.snapshot.nodes, similarity_top_k=k,  # type: ignore[arg-type]
                                            stemmer=Stemmer.Stemmer("english"), language="english")
    return lambda query: [n.node.get_content() for n in retriever.retrieve(query)]


PIPELINES: dict[str, Callable[[Assistant, int], Retrieve]] = {
    "ours": ours, "llamaindex-default": llamaindex_default, "bm25": bm25,
}


def default_engine(assistant: Assistant, k: int = 5) -> Any:
    """The LlamaIndex defaults' streaming query engine with the assistant's own LLM client."""
    return default_index(assistant).as_query_engine(llm=assistant.llm.client, similarity_top_k=k, streaming=True)


def default_answer(engine: Any, question: str) -> dict[str, Any]:
    """Answer with the defaults' engine, timed like ``Timings.first_text_s``: from the call to the
    first non-empty text delta (and to the end of the stream)."""
    start, first, parts = time.perf_counter(), None, []
    response = engine.query(question)
    stream = getattr(response, "response_gen", None)
    if stream is None:  # no nodes: LlamaIndex answers "Empty Response" without streaming
        parts.append(str(response))
    else:
        for delta in stream:
            if delta and first is None:
                first = time.perf_counter() - start
            parts.append(delta)
    total = time.perf_counter() - start
    return {"text": "".join(parts), "ttft_s": first if first is not None else total, "total_s": total}
