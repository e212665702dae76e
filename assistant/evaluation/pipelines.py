"""Retrieval pipelines scored side by side: ours, LlamaIndex defaults, and BM25 only.

* ``ours`` — the project's retriever (hybrid, named entries first, model-table filter).
* ``llamaindex-default`` — what a user gets from LlamaIndex out of the box on the same
  article: ``SentenceSplitter`` 1024/200, vector-only, top 5, same embedding model.
* ``bm25`` — ``BM25Retriever`` alone over our entry-aware nodes.
All receive the same standalone query (follow-ups condensed the same way), so the
comparison isolates retrieval.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from llama_index.core import Document, VectorStoreIndex
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import QueryBundle

if TYPE_CHECKING:
    from assistant.api import Assistant

Retrieve = Callable[[str], list[str]]  # query -> passage texts in rank order
SOURCE = Path(__file__).resolve().parents[2] / "knowledge" / "source" / "generative-ai-all-you-need-to-know.txt"


def ours(assistant: Assistant, k: int) -> Retrieve:
    from assistant.synthesizer import to_passage
    from assistant.table import TableRetriever

    retriever = TableRetriever(assistant.table, assistant.retriever)  # type: ignore[arg-type]

    def run(query: str) -> list[str]:
        assistant.retriever.top_k = k  # type: ignore[union-attr]
        return [to_passage(n).text for n in retriever.retrieve(QueryBundle(query))]

    return run


def llamaindex_default(assistant: Assistant, k: int) -> Retrieve:
    document = Document(text=SOURCE.read_text(encoding="utf-8"))
    nodes = SentenceSplitter(chunk_size=1024, chunk_overlap=200).get_nodes_from_documents([document])
    index = VectorStoreIndex(nodes, embed_model=assistant.embed_model)
    retriever = index.as_retriever(similarity_top_k=k)
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
