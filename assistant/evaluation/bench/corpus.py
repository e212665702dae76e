"""Synthetic corpora of any size (the real nodes plus recombined article sentences with random vectors) and
retrieval latency over them."""

from __future__ import annotations

import gc
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from assistant.config import Settings
from assistant.evaluation.bench.stats import open_assistant, rss_mb, summarize

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from assistant.store import Store

UPSERT_BATCH = 5000


def article_sentences(source_dir: Path) -> list[str]:
    """Sentences (and list lines) of the article's text files."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(source_dir.glob("*.txt")))
    pieces = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [" ".join(p.split()) for p in pieces if len(p.split()) >= 3]


def synthetic_text(sentences: list[str], length: int, rng: random.Random) -> str:
    """Random article sentences joined until `length` characters are reached."""
    out: list[str] = []
    while sum(len(s) + 1 for s in out) < length:
        out.append(rng.choice(sentences))
    return " ".join(out)


def synthetic_nodes(sentences: list[str], lengths: list[int], count: int, seed: int = 0) -> list:
    """`count` document-like nodes (8 chunks per synthetic file) with real-like metadata."""
    import hashlib

    from llama_index.core.schema import TextNode

    rng = random.Random(seed)
    nodes = []
    for i in range(count):
        doc, chunk = divmod(i, 8)
        entry_id, title = f"syn-{doc:06d}", f"synthetic-{doc:06d}.md"
        text = synthetic_text(sentences, rng.choice(lengths), rng)
        meta: dict[str, Any] = {"entry_id": entry_id, "title": title, "kind": "document", "section": "",
                                "source": title, "names": "", "origin": f"file:/bench/{title}", "heading": "", "chunk": chunk}
        meta["content_hash"] = hashlib.sha256((text + repr(sorted(meta.items()))).encode()).hexdigest()[:16]
        nodes.append(TextNode(id_=f"{entry_id}#{chunk}", text=text, metadata=meta,
                              excluded_embed_metadata_keys=list(meta), excluded_llm_metadata_keys=list(meta)))
    return nodes


def build_corpus(source: Store, settings: Settings, size: int, sentences: list[str], seed: int = 0) -> dict[str, Any]:
    """A store in settings.data_dir with `source`'s nodes (real vectors) plus synthetic ones up to `size`."""
    import numpy as np
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    from assistant.ingest import fingerprint
    from assistant.store import Store

    real_ids, real_texts, real_metas = source.documents()
    vector_ids, real_vectors = source.vectors()
    by_id = dict(zip(vector_ids, real_vectors, strict=True))
    dim = len(real_vectors[0])
    extra = synthetic_nodes(sentences, [len(d) for d in real_texts], max(0, size - len(real_ids)), seed)
    vectors = np.random.default_rng(seed).standard_normal((len(extra), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = list(real_ids) + [n.node_id for n in extra]
    texts = list(real_texts) + [n.text for n in extra]
    start = time.perf_counter()
    metas = list(real_metas) + [node_to_metadata_dict(n, remove_text=True, flat_metadata=True) for n in extra]
    all_vectors = np.concatenate([np.asarray([by_id[i] for i in real_ids], dtype=np.float32), vectors])
    store = Store(settings.chroma_path, "", settings.chroma_collection)
    store.mark_embedding(settings.embed_model_name, dim)
    for at in tqdm(range(0, len(ids), UPSERT_BATCH), desc=f"Chroma upsert ({len(ids):,})", unit="batch", leave=False):
        end = at + UPSERT_BATCH
        store.upsert(ids=ids[at:end], embeddings=all_vectors[at:end].tolist(), documents=texts[at:end], metadatas=metas[at:end])
    store.set_metadata(fingerprint=fingerprint(store.metadata_by_id()))
    return {"chunks": len(ids), "real": len(real_ids), "synthetic": len(extra), "build_s": time.perf_counter() - start}


def time_queries(runs: dict[str, Callable[[str], Any]], queries: list[str], warmup: int, label: str) -> dict[str, Any]:
    """Latency (s) of each retrieval function over `queries` after `warmup` untimed ones; the functions
    alternate query by query, so a change in the machine's load affects them alike."""
    for q in queries[:warmup]:
        for run in runs.values():
            run(q)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for q in tqdm(queries, desc=f"Retrieval {label}", unit="q", leave=False):
        for name, run in runs.items():
            start = time.perf_counter()
            found = run(q)
            times[name].append(time.perf_counter() - start)
            assert found, f"{name}: no passages for {q!r}"
    return {name: summarize(values) for name, values in times.items()}


def measure_corpus(source: Store, base: Settings, embed_model: BaseEmbedding, size: int, queries: list[str],
                   sentences: list[str], warmup: int, baseline: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Build one corpus, time its loading (snapshot, BM25 build, open) and its retrieval latency
    (alternating with `baseline`'s retrieval when given)."""
    from assistant.retrieval import IndexSnapshot, load_bm25
    from assistant.store import Store

    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{size}-", dir=base.data_dir))
    settings = base.model_copy(update={"data_dir": data_dir})
    row = build_corpus(source, settings, size, sentences)
    store = Store(settings.chroma_path, "", settings.chroma_collection)
    start = time.perf_counter()
    snapshot = IndexSnapshot.load(store)
    row["snapshot_load_s"] = time.perf_counter() - start
    start = time.perf_counter()
    load_bm25(store, data_dir, snapshot.fingerprint, snapshot.nodes, settings.top_k)
    row["bm25_build_s"] = time.perf_counter() - start
    del snapshot
    start = time.perf_counter()
    assistant = open_assistant(settings, embed_model)  # BM25 now loads from its saved copy
    row["open_s"] = time.perf_counter() - start
    row["rss_mb_after_open"] = rss_mb()
    runs: dict[str, Callable[[str], Any]] = {"ours": assistant.retrieve}
    if baseline:  # the material: also the defaults' retriever and the query embedding alone (a floor for both)
        runs["baseline"] = baseline
        runs["query_embedding"] = embed_model.get_query_embedding
    latency = time_queries(runs, queries, warmup, f"{row['chunks']:,}")
    row["latency"] = latency["ours"]
    if baseline:
        row["baseline_latency"] = latency["baseline"]
        row["query_embedding_latency"] = latency["query_embedding"]
    del assistant, store, runs
    gc.collect()
    shutil.rmtree(data_dir, ignore_errors=True)
    return row

