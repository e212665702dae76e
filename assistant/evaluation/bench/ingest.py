"""Ingest throughput: our pipeline against raw embedding of the same texts and against LlamaIndex defaults,
re-ingest, a profile, and ingest time against corpus size."""

from __future__ import annotations

import cProfile
import pstats
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from assistant.config import Settings
from assistant.evaluation.bench.corpus import synthetic_text
from assistant.evaluation.bench.stats import open_assistant
from assistant.evaluation.metrics import percentile

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding


def profile_ingest(settings: Settings, embed_model: BaseEmbedding) -> dict[str, Any]:
    """Where one full ingest spends its time (cProfile cumulative seconds of the main steps)."""
    assistant = open_assistant(settings, embed_model)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(assistant.ingest)
    total = time.perf_counter() - start
    steps = {"get_text_embedding_batch": "embedding", "upsert": "Chroma upsert", "load_index": "reload (snapshot, BM25, names)",
             "load_entries": "read knowledge files", "entry_nodes": "chunking", "metadata_by_id": "Chroma metadata reads",
             "modify": "Chroma collection metadata"}
    found: dict[str, float] = {}
    for (_file, _line, func), (_cc, _nc, _tt, ct, _callers) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        if func in steps:
            found[steps[func]] = max(found.get(steps[func], 0.0), ct)
    return {"total_s": total, "steps_s": found}


def baseline_index(settings: Settings, embed_model: BaseEmbedding) -> tuple[Any, dict[str, Any]]:
    """LlamaIndex defaults: SentenceSplitter 1024/200 over knowledge/source/*.txt into an in-memory VectorStoreIndex."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    start = time.perf_counter()
    documents = [Document(text=p.read_text(encoding="utf-8")) for p in sorted((settings.knowledge_dir / "source").glob("*.txt"))]
    nodes = SentenceSplitter(chunk_size=1024, chunk_overlap=200).get_nodes_from_documents(documents)
    index = VectorStoreIndex(nodes, embed_model=embed_model)
    seconds = time.perf_counter() - start
    return index, {"chunks": len(nodes), "ingest_s": seconds, "embedded_chars": sum(len(n.get_content()) for n in nodes)}


def bench_ingest(base: Settings, embed_model: BaseEmbedding, reps: int) -> tuple[dict[str, Any], dict[str, Any], Path, Any]:
    """Our full ingest vs raw embedding of the same chunk texts in the same order (longest first, as ingest embeds them)
    vs LlamaIndex defaults (interleaved reps), and re-ingest. Returns our figures, the defaults' figures, our last data
    dir and the defaults' index."""
    from llama_index.core.schema import MetadataMode

    from assistant.chunking import Chunker
    from assistant.ingest import BATCH
    from assistant.knowledge import load_entries

    chunker = Chunker(base.chunk_size, base.chunk_overlap)
    nodes = [n for entry in load_entries(base.knowledge_dir) for n in chunker.entry_nodes(entry)]
    # the order ingest embeds in (longest first, so each batch pads little): the ratio then measures pipeline overhead only
    texts = sorted((n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes), key=len, reverse=True)
    embed_model.get_text_embedding_batch(texts[:BATCH])  # warm-up
    runs: list[dict[str, float]] = []
    base_runs: list[dict[str, Any]] = []
    data_dir, index = base.data_dir, None
    for rep in tqdm(range(reps), desc="Ingest reps", unit="rep", leave=False):
        run: dict[str, float] = {}
        for step in (("raw", "ingest", "defaults") if rep % 2 == 0 else ("defaults", "ingest", "raw")):
            if step == "raw":
                start = time.perf_counter()
                for at in range(0, len(texts), BATCH):
                    embed_model.get_text_embedding_batch(texts[at:at + BATCH])
                run["raw_s"] = time.perf_counter() - start
            elif step == "defaults":
                index, info = baseline_index(base, embed_model)
                base_runs.append(info)
            else:
                data_dir = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=base.data_dir))
                assistant = open_assistant(base.model_copy(update={"data_dir": data_dir}), embed_model)
                start = time.perf_counter()
                report = assistant.ingest()
                run["ingest_s"] = time.perf_counter() - start
                run["chunks"] = report.total
                start = time.perf_counter()
                again = assistant.ingest()
                run["reingest_s"] = time.perf_counter() - start
                assert again.unchanged == report.total and not (again.added or again.updated), again.summary()
        run["ratio"] = (run["chunks"] / run["ingest_s"]) / (len(texts) / run["raw_s"])
        runs.append(run)
    chunks, med = int(runs[0]["chunks"]), (lambda key, rows=runs: percentile([r[key] for r in rows], 50))
    ours = {"chunks": chunks, "texts_embedded": len(texts), "batch": BATCH, "reps": runs, "embedded_chars": sum(map(len, texts)),
            "ingest_s": med("ingest_s"), "raw_s": med("raw_s"), "chunks_per_s": chunks / med("ingest_s"),
            "raw_chunks_per_s": len(texts) / med("raw_s"), "ratio": med("ratio"), "reingest_s": med("reingest_s"),
            "reingest_fraction": percentile([r["reingest_s"] / r["ingest_s"] for r in runs], 50)}
    ours["profile"] = profile_ingest(base.model_copy(update={"data_dir": Path(tempfile.mkdtemp(dir=base.data_dir))}), embed_model)
    defaults = {**base_runs[0], "ingest_s": med("ingest_s", base_runs), "reps": [r["ingest_s"] for r in base_runs]}
    defaults["chunks_per_s"] = defaults["chunks"] / defaults["ingest_s"]
    return ours, defaults, data_dir, index


def ingest_growth(base: Settings, embed_model: BaseEmbedding, target: int, sentences: list[str], material: int) -> dict[str, Any]:
    """Real ingest (embedding included) of the material plus synthetic files, to about `target` chunks."""
    from assistant.chunking import Chunker

    data_dir = Path(tempfile.mkdtemp(prefix="bench-growth-", dir=base.data_dir))
    folder = data_dir / "files"
    folder.mkdir()
    chunker, rng, count, i = Chunker(base.chunk_size, base.chunk_overlap), random.Random(1), material, 0
    while count < target:
        path = folder / f"synthetic-{i:04d}.md"
        text = "\n\n".join(f"## Part {p}\n\n" + synthetic_text(sentences, 700, rng) for p in range(4))
        path.write_text(text, encoding="utf-8")
        count += len(chunker.document_nodes(path, text, "x", "y"))
        i += 1
    assistant = open_assistant(base.model_copy(update={"data_dir": data_dir}), embed_model)
    start = time.perf_counter()
    report = assistant.ingest([folder])
    seconds = time.perf_counter() - start
    del assistant
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"chunks": report.total, "ingest_s": seconds, "chunks_per_s": report.total / seconds}

