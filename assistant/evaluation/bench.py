"""`python -m assistant bench`: ingest throughput, retrieval latency against corpus size, answer
latency with the bundled model, UI start time and memory, and LlamaIndex defaults measured in the
same run. Writes ``bench.json`` (every figure), ``bench.md`` (tables, targets, plots) and PNG plots.

Large corpora are the real knowledge nodes plus synthetic ones (article sentences recombined to
the real chunks' lengths, random unit vectors) written to Chroma the way ingest writes; an
``Assistant`` opened over them runs the real query path (query embedding, BM25, fusion, HNSW, names).
"""

from __future__ import annotations

import cProfile
import gc
import json
import math
import os
import platform
import pstats
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from assistant.config import PROJECT_DIR, Settings

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from assistant.api import Assistant
    from assistant.store import Store

GOLD = PROJECT_DIR / "evals" / "gold.jsonl"
UPSERT_BATCH = 5000
ANSWER_BUDGET_S = 120.0  # a streamed answer is cut off after this, so a starved machine cannot stall the run
SIZES = {"quick": [1_000, 10_000], "full": [1_000, 10_000, 100_000]}
# (result key, label, comparison, threshold); checked against this run's figures.
TARGETS = [
    ("ingest.ratio", "ingest chunks/s ÷ raw embedding chunks/s", ">=", 0.9),
    ("ingest.reingest_fraction", "re-ingest of unchanged material ÷ full ingest time", "<=", 0.05),
    ("answers.ours.ttft.p50", "time to first token, p50 (s)", "<=", 1.5),
    ("answers.ours.ttft.p95", "time to first token, p95 (s)", "<=", 1.5),
    ("app.cold.peak_rss_tree_mb", "peak RSS, UI + LLM server (MB)", "<=", 1500),
]


# --- statistics ------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: list[float]) -> dict[str, float]:
    """n, p50, p95, mean, min and max of a sample."""
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "mean": sum(values) / len(values), "min": min(values), "max": max(values)}


def fit_exponent(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log y against log x: y ∝ x^slope."""
    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(points) < 2:
        return None
    mx = sum(p[0] for p in points) / len(points)
    my = sum(p[1] for p in points) / len(points)
    den = sum((p[0] - mx) ** 2 for p in points)
    return sum((p[0] - mx) * (p[1] - my) for p in points) / den if den else None


def lookup(result: dict[str, Any], key: str) -> Any:
    """A nested value by dotted key, or None."""
    value: Any = result
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def check_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value and whether it is met (None when not measured)."""
    rows = []
    for key, label, op, threshold in TARGETS:
        value = lookup(result, key)
        met = None if value is None else (value >= threshold if op == ">=" else value <= threshold)
        rows.append({"key": key, "label": label, "target": f"{op} {threshold}", "value": value, "met": met})
    return rows


# --- machine and helpers -----------------------------------------------------------------------
def machine_facts() -> dict[str, Any]:
    """nproc, CPU model, RAM, load and library versions: what the numbers depend on."""
    import importlib.metadata as md

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    versions = {}
    for name in ("llama-index-core", "chromadb", "gradio", "llama_cpp_python", "sentence-transformers", "torch", "bm25s"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "absent"
    return {"nproc": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)), "cpu_model": cpu,
            "ram_gb": round(mem_kb / 1024**2, 1), "python": platform.python_version(), "versions": versions,
            "loadavg_start": list(os.getloadavg())}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb() -> float:
    return _status_kb(os.getpid(), "VmRSS") / 1024


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc/*/stat parent ids)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += parents.get(pid, [])
    return tree


def load_questions(path: Path = GOLD) -> list[dict[str, Any]]:
    """Gold questions without history (standalone), in file order."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if not r.get("history")]


def open_assistant(settings: Settings, embed_model: BaseEmbedding) -> Assistant:
    """An Assistant over settings' store, reusing an already loaded embedding model."""
    from assistant.api import Assistant
    from assistant.store import Store

    store = Store(settings.chroma_path, settings.chroma_url, settings.chroma_collection)
    store.check_embedding(settings.embed_model_name)
    return Assistant(settings, store, embed_model)


# --- synthetic corpora -------------------------------------------------------------------------
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

    real = source.collection.get(include=["embeddings", "documents", "metadatas"])
    dim = len(real["embeddings"][0])
    extra = synthetic_nodes(sentences, [len(d) for d in real["documents"]], max(0, size - len(real["ids"])), seed)
    vectors = np.random.default_rng(seed).standard_normal((len(extra), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = list(real["ids"]) + [n.node_id for n in extra]
    texts = list(real["documents"]) + [n.text for n in extra]
    start = time.perf_counter()
    metas = list(real["metadatas"]) + [node_to_metadata_dict(n, remove_text=True, flat_metadata=True) for n in extra]
    all_vectors = np.concatenate([np.asarray(real["embeddings"], dtype=np.float32), vectors])
    store = Store(settings.chroma_path, "", settings.chroma_collection)
    for at in tqdm(range(0, len(ids), UPSERT_BATCH), desc=f"Chroma upsert ({len(ids):,})", unit="batch", leave=False):
        end = at + UPSERT_BATCH
        store.collection.upsert(ids=ids[at:end], embeddings=all_vectors[at:end], documents=texts[at:end], metadatas=metas[at:end])
    store.mark_embedding(settings.embed_model_name, dim)
    meta = {k: v for k, v in (store.collection.metadata or {}).items() if not k.startswith("hnsw:")}
    store.collection.modify(metadata={**meta, "fingerprint": fingerprint(store.metadata_by_id())})
    return {"chunks": len(ids), "real": len(real["ids"]), "synthetic": len(extra), "build_s": time.perf_counter() - start}


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
    row["rss_mb_after_open"] = _rss_mb()
    runs: dict[str, Callable[[str], Any]] = {"ours": assistant.retrieve}
    if baseline:
        runs["baseline"] = baseline
    latency = time_queries(runs, queries, warmup, f"{row['chunks']:,}")
    row["latency"] = latency["ours"]
    if baseline:
        row["baseline_latency"] = latency["baseline"]
    del assistant, store, runs
    gc.collect()
    shutil.rmtree(data_dir, ignore_errors=True)
    return row


# --- ingest --------------------------------------------------------------------------------------
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
    """Our full ingest vs raw embedding of the same chunk texts vs LlamaIndex defaults (interleaved reps), and
    re-ingest. Returns our figures, the defaults' figures, our last data dir and the defaults' index."""
    from llama_index.core.schema import MetadataMode

    from assistant.chunking import Chunker
    from assistant.ingest import BATCH
    from assistant.knowledge import load_entries

    chunker = Chunker(base.chunk_size, base.chunk_overlap)
    nodes = [n for entry in load_entries(base.knowledge_dir) for n in chunker.entry_nodes(entry)]
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
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


# --- answers ---------------------------------------------------------------------------------------
_PREFIX = re.compile(r"(\d+) prefix-match hit")
_PROMPT_EVAL = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
_EVAL = re.compile(r" eval time =\s*([\d.]+) ms /\s*(\d+) runs")


def server_records(log_text: str) -> list[dict[str, Any]]:
    """Per completion request, what llama.cpp's server logged: prefix-cache hit, prompt tokens evaluated and how long."""
    records: list[dict[str, Any]] = []
    prefix = 0
    for line in log_text.splitlines():
        if match := _PREFIX.search(line):
            prefix = int(match.group(1))
        elif match := _PROMPT_EVAL.search(line):
            records.append({"prefix_hit": prefix, "prompt_eval_tokens": int(match.group(2)),
                            "prompt_eval_ms": float(match.group(1))})
            prefix = 0
        elif (match := _EVAL.search(line)) and records:
            records[-1].update(decode_tokens=int(match.group(2)), decode_ms=float(match.group(1)))
    return records


class PromptCounter:
    """Records the messages of every LLM chat call (LlamaIndex instrumentation) and counts their
    tokens with the llama.cpp server's tokenizer (SmolLM2's ChatML rendering, special tokens included)."""

    method = "llama.cpp /extras/tokenize/count"

    def __init__(self, server_root: str):
        from llama_index.core.instrumentation import get_dispatcher
        from llama_index.core.instrumentation.event_handlers import BaseEventHandler
        from llama_index.core.instrumentation.events.llm import LLMChatStartEvent

        calls: list[list[Any]] = []

        class Handler(BaseEventHandler):
            @classmethod
            def class_name(cls) -> str:
                return "BenchPromptCapture"

            def handle(self, event: Any, **kwargs: Any) -> None:
                if isinstance(event, LLMChatStartEvent):
                    calls.append(list(event.messages))

        self.calls, self.root = calls, server_root.rstrip("/")
        self.dispatcher, self.handler = get_dispatcher(), Handler()
        self.dispatcher.add_event_handler(self.handler)

    def count(self, text: str) -> int:
        request = urllib.request.Request(f"{self.root}/extras/tokenize/count", data=json.dumps({"input": text}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            return int(json.load(reply)["count"])

    def take(self) -> tuple[int, int]:
        """(LLM calls, prompt tokens summed over them) since the last take."""
        rendered = ["".join(f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"
                    for messages in self.calls]
        self.calls.clear()
        return len(rendered), sum(self.count(text) for text in rendered)

    def close(self) -> None:
        self.dispatcher.event_handlers.remove(self.handler)


def answer_questions(assistant: Assistant, questions: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Answerable standalone questions that reach the LLM (not a table list, not refused by the gate)."""
    chosen = [q for q in questions if q["answerable"] and assistant.table.match(q["question"]) is None
              and assistant.answerable(q["question"])[0]]
    return chosen[:: max(1, len(chosen) // count)][:count]


def _stream_ours(assistant: Assistant, question: str) -> dict[str, Any]:
    from assistant.types import Answer

    start, first, final = time.perf_counter(), None, None
    for event in assistant.stream(question):
        if isinstance(event, Answer):
            final = event
        elif event and first is None:
            first = time.perf_counter() - start
        if time.perf_counter() - start > ANSWER_BUDGET_S:
            break  # closing the stream ends the request; the row says it timed out
    return {"ttft_s": first, "total_s": time.perf_counter() - start, "mode": final.mode if final else "timed out"}


def _stream_defaults(engine: Any, question: str) -> dict[str, Any]:
    start, first = time.perf_counter(), None
    for delta in engine.query(question).response_gen:
        if delta and first is None:
            first = time.perf_counter() - start
        if time.perf_counter() - start > ANSWER_BUDGET_S:
            break
    total = time.perf_counter() - start
    return {"ttft_s": first, "total_s": total, "mode": "timed out" if total > ANSWER_BUDGET_S else "streamed"}


def _answer_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def stat(key: str) -> dict[str, float] | None:
        values = [r[key] for r in rows if r.get(key) is not None]
        return summarize(values) if values else None

    out = {"questions": len(rows), "rows": rows}
    for key, name in (("ttft_s", "ttft"), ("total_s", "total"), ("prompt_tokens", "prompt_tokens"),
                      ("prompt_eval_ms", "server_prompt_eval_ms"), ("prompt_eval_tokens", "server_prompt_eval_tokens"),
                      ("prefix_hit", "server_prefix_hit"), ("ttft_minus_prompt_eval_s", "ttft_minus_prompt_eval")):
        out[name] = stat(key)
    return out


def bench_llm(settings: Settings, embed_model: BaseEmbedding, questions: list[dict[str, Any]], count: int,
              index: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the bundled model, then stream each question through ours and the defaults' query engine in turn."""
    from assistant.llm import LocalLLMServer

    server = LocalLLMServer(settings)
    start = time.perf_counter()
    server.start()
    llm_start_s = time.perf_counter() - start
    assistant = open_assistant(settings, embed_model)
    counter = PromptCounter(settings.local_llm_url.removesuffix("/v1"))
    try:
        engine = index.as_query_engine(llm=assistant.llm, streaming=True, similarity_top_k=5)
        chosen = answer_questions(assistant, questions, count)
        warm = next(q for q in questions if q["answerable"] and q not in chosen)
        _stream_ours(assistant, warm["question"])  # warm-up: model pages, the system prompts' KV prefix
        _stream_defaults(engine, warm["question"])
        counter.take()
        log_start = server.log_path.stat().st_size
        rows: dict[str, list[dict[str, Any]]] = {"ours": [], "defaults": []}
        for q in tqdm(chosen, desc="Answers (ours, defaults)", unit="q", leave=False):
            for name in ("ours", "defaults"):
                row = _stream_ours(assistant, q["question"]) if name == "ours" else _stream_defaults(engine, q["question"])
                row["id"], (row["llm_calls"], row["prompt_tokens"]) = q["id"], counter.take()
                rows[name].append(row)
        with open(server.log_path, "rb") as log:
            log.seek(log_start)
            records = server_records(log.read().decode(errors="replace"))
    finally:
        counter.close()
        assistant.close()
        server.stop()
    ordered = [row for pair in zip(rows["ours"], rows["defaults"], strict=True) for row in pair]
    matched = len(records) == sum(r["llm_calls"] for r in ordered)
    if matched:  # the server logs one record per completion request, in request order
        for row in ordered:
            mine, records = records[: row["llm_calls"]], records[row["llm_calls"]:]
            row["prompt_eval_ms"] = sum(r["prompt_eval_ms"] for r in mine)
            row["prompt_eval_tokens"] = sum(r["prompt_eval_tokens"] for r in mine)
            row["prefix_hit"] = sum(r["prefix_hit"] for r in mine)
            if row["ttft_s"] is not None and row["llm_calls"] == 1:
                row["ttft_minus_prompt_eval_s"] = row["ttft_s"] - row["prompt_eval_ms"] / 1000
    note = " ".join([
        f"{len(chosen)} answerable gold questions that reach the LLM (no model-table list, not refused by the gate), each",
        "streamed through ours and then the defaults' query engine, after one warm-up question each; llama.cpp server with",
        f"{settings.llm_model_name}, {settings.local_llm_threads} threads, n_ctx {settings.llm_context_window},",
        f"max {settings.llm_max_tokens} answer tokens, started in {llm_start_s:.1f} s.",
        "TTFT: from the call to the first non-empty text delta (ours: `Assistant.stream`, retrieval and gate included).",
        "Answer time runs to the verified Answer (ours) or the end of the stream (defaults),",
        f"cut off after {ANSWER_BUDGET_S:.0f} s. Prompt tokens: every LLM call's messages as captured by LlamaIndex",
        f"instrumentation, rendered in ChatML and counted by {PromptCounter.method}. Server-side figures come from the llama.cpp",
        "server's own log (prompt tokens evaluated after its prefix cache, and how long that took)"
        + ("." if matched else ": not matched to requests in this run.")])
    return ({"ours": _answer_stats(rows["ours"]), "note": note, "llm_start_s": llm_start_s},
            _answer_stats(rows["defaults"]))


# --- app start and memory ----------------------------------------------------------------------------
def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.1)
    return None


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (UI and its LLM server), then SIGKILL what is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def start_ui(data_dir: Path, llm_port: int, log_path: Path, timeout: float = 240) -> dict[str, Any]:
    """Run `python -m assistant ui` until GET / answers 200; its time and the tree's peak RSS (VmHWM)."""
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "UI_PORT": str(port), "UI_HOST": "127.0.0.1", "UI_AUTH": "",
           "LLM_PROVIDER": "local", "LLM_BASE_URL": "", "LLM_MODEL": "", "LOCAL_LLM_PORT": str(llm_port), "CHROMA_URL": "",
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "ui"], cwd=PROJECT_DIR, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        seconds = _wait_http(f"http://127.0.0.1:{port}/", proc, timeout)
        if seconds is None:
            tail = log_path.read_text(errors="replace")[-600:]
            return {"error": f"UI did not answer within {timeout:.0f} s (exit {proc.poll()}): {tail}"}
        time.sleep(1.0)  # let start-up allocations settle before reading the peaks
        tree = process_tree(proc.pid)
        peaks = {pid: _status_kb(pid, "VmHWM") / 1024 for pid in tree}
        return {"start_s": seconds, "peak_rss_ui_mb": peaks[proc.pid], "peak_rss_tree_mb": sum(peaks.values()),
                "processes": len(tree)}
    finally:
        _stop_group(proc)


def bench_app(base: Settings, data_dir: Path) -> dict[str, Any]:
    """Cold start (the UI starts the LLM server) and warm start (an LLM server already runs)."""
    from assistant.llm import LocalLLMServer

    log_path = base.data_dir / "ui-bench.log"
    cold = start_ui(data_dir, free_port(), log_path)
    llm_port = free_port()
    server = LocalLLMServer(base.model_copy(update={"data_dir": data_dir, "local_llm_port": llm_port}))
    server.start()
    try:
        warm = start_ui(data_dir, llm_port, log_path)
        if "error" not in warm and server.process:
            llm_peak = _status_kb(server.process.pid, "VmHWM") / 1024
            warm["peak_rss_llm_server_mb"] = llm_peak
            warm["peak_rss_tree_mb"] = warm["peak_rss_tree_mb"] + llm_peak
    finally:
        server.stop()
    return {"cold": cold, "warm": warm}


# --- report ----------------------------------------------------------------------------------------
def _f(value: Any, digits: int | None = None) -> str:
    """A figure for people: about three significant digits, thousands separated."""
    if value is None:
        return "not measured"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if digits is None:
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
    return f"{value:,.{digits}f}"


def _ratio(a: Any, b: Any) -> float | None:
    return a / b if a is not None and b else None


def comparison(result: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    """(figure, ours, LlamaIndex defaults, ours ÷ defaults) rows."""
    ours_ingest, base = result.get("ingest", {}), result.get("baseline", {})
    material = (result.get("retrieval", {}).get("corpora") or [{}])[0].get("latency", {})
    ours_answers, base_answers = lookup(result, "answers.ours") or {}, base.get("answers") or {}
    rows = [("ingest chunks/s", ours_ingest.get("chunks_per_s"), base.get("chunks_per_s")),
            ("ingest embedded characters/s", _ratio(ours_ingest.get("embedded_chars"), ours_ingest.get("ingest_s")),
             _ratio(base.get("embedded_chars"), base.get("ingest_s"))),
            ("retrieval p50 (ms)", _ms(material.get("p50")), _ms(lookup(base, "latency.p50"))),
            ("retrieval p95 (ms)", _ms(material.get("p95")), _ms(lookup(base, "latency.p95"))),
            ("time to first token p50 (s)", lookup(ours_answers, "ttft.p50"), lookup(base_answers, "ttft.p50")),
            ("time to first token p95 (s)", lookup(ours_answers, "ttft.p95"), lookup(base_answers, "ttft.p95")),
            ("full answer p50 (s)", lookup(ours_answers, "total.p50"), lookup(base_answers, "total.p50")),
            ("prompt tokens per question (mean)", lookup(ours_answers, "prompt_tokens.mean"),
             lookup(base_answers, "prompt_tokens.mean"))]
    return [(name, a, b, _ratio(a, b)) for name, a, b in rows]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _figure(out: Path, name: str, title: str, xlabel: str, ylabel: str, series: list[tuple[list, list, str, str]]) -> str:
    """One log-log line plot saved as PNG; series are (xs, ys, matplotlib style, label)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for xs, ys, style, label in series:
        ax.plot(xs, ys, style, label=label)
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def plot(result: dict[str, Any], out: Path) -> list[str]:
    """Retrieval latency and corpus loading against size, ingest time against size."""
    files = []
    corpora = lookup(result, "retrieval.corpora") or []
    if corpora:
        sizes = [c["chunks"] for c in corpora]
        series = [(sizes, [c["latency"][k] * 1000 for c in corpora], style, f"ours {k}")
                  for k, style in (("p50", "o-"), ("p95", "s--"))]
        if lookup(result, "baseline.latency"):
            series.append(([result["baseline"]["chunks"]], [result["baseline"]["latency"]["p50"] * 1000], "k^",
                           "LlamaIndex defaults p50 (article)"))
        files.append(_figure(out, "retrieval_latency.png", "Retrieval latency against corpus size", "chunks in the index",
                             "latency (ms)", series))
        steps = (("build_s", "Chroma upsert (precomputed vectors)"), ("snapshot_load_s", "snapshot load"),
                 ("bm25_build_s", "BM25 build + save"), ("open_s", "Assistant open (BM25 cached)"))
        files.append(_figure(out, "corpus_load.png", "Building and loading a corpus", "chunks in the index", "seconds",
                             [(sizes, [c[k] for c in corpora], "o-", label) for k, label in steps]))
    points = lookup(result, "growth.points") or []
    if points:
        rate, xs = result["growth"]["chunks_per_s"], [points[0]["chunks"], 100_000]
        files.append(_figure(out, "ingest_growth.png", "Ingest time against corpus size", "chunks ingested", "full ingest (s)", [
            ([p["chunks"] for p in points], [p["ingest_s"] for p in points], "o", "measured (embedding included)"),
            (xs, [x / rate for x in xs], ":", f"extrapolated: linear at {rate:.1f} chunks/s")]))
    return files


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_f(c) for c in row) + " |" for row in rows]


def _section_ingest(ing: dict[str, Any]) -> list[str]:
    profile = ing["profile"]
    lines = ["", "## Ingest", "",
             "Full pipeline (`Assistant.ingest` into a fresh data dir: chunking, embedding, Chroma writes, BM25 and snapshot "
             f"reload) against `get_text_embedding_batch` on the same {ing['texts_embedded']} chunk texts in batches of "
             f"{ing['batch']}, same loaded model; {len(ing['reps'])} interleaved repetitions, medians.", ""]
    lines += _table(["figure", "value"], [
        ["chunks", ing["chunks"]], ["full ingest (s)", ing["ingest_s"]], ["pipeline chunks/s", ing["chunks_per_s"]],
        ["raw embedding chunks/s", ing["raw_chunks_per_s"]], ["ratio (median of paired reps)", ing["ratio"]],
        ["re-ingest unchanged (s)", ing["reingest_s"]], ["re-ingest ÷ full (median of reps)", ing["reingest_fraction"]]])
    reps = "; ".join(f"ingest {r['ingest_s']:.2f} s, raw {r['raw_s']:.2f} s, ratio {r['ratio']:.2f}, "
                     f"re-ingest {r['reingest_s']:.3f} s" for r in ing["reps"])
    lines += ["", f"Per repetition: {reps}.", "",
              "Where one more full ingest spends its time (cProfile, cumulative; "
              f"{profile['total_s']:.2f} s under the profiler):", ""]
    steps = sorted(profile["steps_s"].items(), key=lambda kv: -kv[1])
    return lines + _table(["step", "seconds", "share"], [[k, v, f"{100 * v / profile['total_s']:.0f} %"] for k, v in steps])


def _section_retrieval(ret: dict[str, Any]) -> list[str]:
    lines = ["", "## Retrieval latency against corpus size", "",
             f"`Assistant.retrieve` (top {ret['top_k']}) over {ret['queries']} gold questions after {ret['warmup']} warm-up "
             "queries. Corpora beyond the material are its real nodes and vectors plus synthetic nodes (article sentences "
             "recombined to the real chunks' lengths, random unit vectors, real-like metadata) upserted into Chroma in batches "
             f"of {UPSERT_BATCH}; the query path is the real one. Random vectors have no cluster structure (hard for HNSW).",
             ""]
    header = ["chunks", "synthetic", "upsert (s)", "snapshot load (s)", "BM25 build (s)", "open (s)", "RSS after open (MB)",
              "p50 (ms)", "p95 (ms)", "mean (ms)"]
    rows = [[c["chunks"], c["synthetic"], c["build_s"], c["snapshot_load_s"], c["bm25_build_s"], c["open_s"],
             c["rss_mb_after_open"], *(c["latency"][k] * 1000 for k in ("p50", "p95", "mean"))] for c in ret["corpora"]]
    return lines + _table(header, rows) + [
        "", "Scaling (least-squares slope of log time on log chunks): "
        f"p50 ∝ N^{_f(ret.get('exponent_p50'), 2)}, p95 ∝ N^{_f(ret.get('exponent_p95'), 2)}, "
        f"Assistant open ∝ N^{_f(ret.get('exponent_open'), 2)}."]


def _section_answers(result: dict[str, Any]) -> list[str]:
    rows = []
    for name, a in (("ours", lookup(result, "answers.ours")), ("LlamaIndex defaults", lookup(result, "baseline.answers"))):
        if a:
            rows.append([name, a["questions"], *(lookup(a, k) for k in (
                "ttft.p50", "ttft.p95", "total.p50", "total.p95", "prompt_tokens.mean", "server_prefix_hit.p50",
                "server_prompt_eval_tokens.p50", "server_prompt_eval_ms.p50", "ttft_minus_prompt_eval.p50"))])
    header = ["pipeline", "questions", "TTFT p50 (s)", "TTFT p95 (s)", "answer p50 (s)", "answer p95 (s)", "prompt tokens mean",
              "server: prefix-cache hit p50 (tokens)", "server: prompt tokens evaluated p50", "server: prompt eval p50 (ms)",
              "TTFT − prompt eval p50 (s)"]
    return ["", "## Answers with the bundled model", "", result["answers"]["note"], ""] + _table(header, rows)


def render_markdown(result: dict[str, Any], images: list[str]) -> str:
    """bench.md: command, machine, targets, then one section per measurement."""
    m = result["machine"]
    loads = ", ".join(f"{k} {v:.1f}" for k, v in result.get("load_by_stage", {}).items())
    lines = ["# Benchmark", "", f"Command: `{result['command']}` ({result['mode']} mode), run {result['date']}, "
             f"{_f(result.get('seconds'), 0)} s in all.", "",
             f"Machine: nproc {m['nproc']} ({m['cpus_usable']} usable), {m['cpu_model']}, {m['ram_gb']} GB RAM, "
             f"Python {m['python']}. "
             f"The machine is shared: 1-minute load average {m['loadavg_start'][0]:.1f} at start, "
             f"{(m.get('loadavg_end') or [0.0])[0]:.1f} at end" + (f"; at each stage's start: {loads}" if loads else "")
             + ". A load above the core count means other work competed with these measurements.", "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".", "", "## Targets", ""]
    lines += _table(["figure", "measured", "target", "met"],
                    [[t["label"], t["value"], t["target"], "—" if t["met"] is None else ("met" if t["met"] else "not met")]
                     for t in result["targets"]])
    if result.get("ingest"):
        lines += _section_ingest(result["ingest"])
    if result.get("retrieval"):
        lines += _section_retrieval(result["retrieval"])
    if result.get("answers"):
        lines += _section_answers(result)
    if result.get("baseline"):
        lines += ["", "## Against LlamaIndex defaults", "", result["baseline"]["note"], ""]
        lines += _table(["figure", "ours", "LlamaIndex defaults", "ours ÷ defaults"], [list(r) for r in comparison(result)])
    app = result.get("app")
    if app:
        lines += ["", "## App start and memory", "", app["note"], ""]
        lines += _table(["start", "seconds to GET / = 200", "peak RSS UI (MB)", "peak RSS UI + LLM server (MB)"],
                        [[k, app[k]["error"], None, None] if "error" in app[k] else
                         [k, app[k]["start_s"], app[k]["peak_rss_ui_mb"], app[k]["peak_rss_tree_mb"]] for k in ("cold", "warm")])
    growth = result.get("growth")
    if growth:
        lines += ["", "## Growth", "", growth["note"] + (f" Fitted: ingest time ∝ N^{growth['exponent']:.2f}."
                                                           if growth.get("exponent") is not None else ""), ""]
        lines += _table(["chunks", "full ingest (s)", "chunks/s"], [[p["chunks"], p["ingest_s"], p["chunks_per_s"]]
                                                                   for p in growth["points"]])
    if images:
        lines += ["", "## Plots", ""] + [f"![{name}]({name})" for name in images]
    return "\n".join(lines) + "\n"


def write_report(result: dict[str, Any], out: Path) -> list[str]:
    """Write bench.json, the plots and bench.md into `out`; the image file names."""
    out.mkdir(parents=True, exist_ok=True)
    result["targets"] = check_targets(result)
    (out / "bench.json").write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    images = plot(result, out)
    (out / "bench.md").write_text(render_markdown(result, images))
    return images


# --- entry point -------------------------------------------------------------------------------------
def main(args: Any, settings: Settings) -> int:
    """Run every measurement and write the report into args.out."""
    signal.signal(signal.SIGTERM, _interrupt)  # so `finally` blocks stop the servers this run started
    quick, out, started = bool(args.quick), Path(args.out), time.perf_counter()
    result: dict[str, Any] = {"command": "python -m assistant bench" + (" --quick" if quick else "") + f" --out {args.out}",
                              "date": datetime.now(UTC).isoformat(timespec="seconds"), "mode": "quick" if quick else "full",
                              "machine": machine_facts(), "load_by_stage": {}}
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        base = settings.model_copy(update={"data_dir": Path(tmp), "chroma_url": "", "llm_provider": "local", "llm_base_url": "",
                                           "llm_model": "", "local_llm_port": free_port()})
        run_stages(result, base, quick)
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    result["seconds"] = time.perf_counter() - started
    write_report(result, out)
    print(f"\nWrote {out / 'bench.md'} and {out / 'bench.json'}.")
    for t in result["targets"]:
        verdict = "not measured" if t["met"] is None else ("met" if t["met"] else "NOT MET")
        print(f"  {t['label']}: {_f(t['value'])} (target {t['target']}): {verdict}")
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_stages(result: dict[str, Any], base: Settings, quick: bool) -> None:
    """The measurements, one after another; fills `result`."""
    from assistant.embeddings import build_embed_model
    from assistant.store import Store

    def stage(name: str) -> None:
        result["load_by_stage"][name] = os.getloadavg()[0]
        print(f"\n== {name} (load average {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)

    plan = {"reps": 2, "queries": 50, "answers": 5} if quick else {"reps": 3, "queries": 1000, "answers": 10}
    questions, warmup = load_questions(), 5
    queries = [q["question"] for q in questions][: plan["queries"]]
    sentences = article_sentences(base.knowledge_dir / "source")
    stage("embedding model")
    start = time.perf_counter()
    embed_model = build_embed_model(base)
    result["embed_model_load_s"] = time.perf_counter() - start

    stage("ingest (ours, raw embedding, LlamaIndex defaults)")
    result["ingest"], result["baseline"], material_dir, index = bench_ingest(base, embed_model, plan["reps"])
    result["baseline"]["note"] = BASELINE_NOTE
    ingest = result["ingest"]
    points = [{"chunks": ingest["chunks"], "ingest_s": ingest["ingest_s"], "chunks_per_s": ingest["chunks_per_s"]}]
    if not quick:
        stage("growth")
        points.append(ingest_growth(base, embed_model, 1_000, sentences, ingest["chunks"]))
    result["growth"] = {
        "points": points, "chunks_per_s": points[-1]["chunks_per_s"],
        "exponent": fit_exponent([p["chunks"] for p in points], [p["ingest_s"] for p in points]),
        "note": "Measured full ingests, embedding included" + (
            " (the material only: quick mode)" if quick else
            " (the material; the material plus synthetic Markdown files, chunked and embedded for real)")
        + ". Beyond them the plot extrapolates linearly at the largest measured chunks/s: an extrapolation, not a measurement."}

    stage("retrieval")
    source = Store(base.model_copy(update={"data_dir": material_dir}).chroma_path, "", base.chroma_collection)
    defaults = index.as_retriever(similarity_top_k=5)
    corpora = []
    for size in [ingest["chunks"]] + SIZES["quick" if quick else "full"]:
        row = measure_corpus(source, base, embed_model, size, queries, sentences, warmup,
                             baseline=defaults.retrieve if size == ingest["chunks"] else None)
        corpora.append(row)
        print(f"   {row['chunks']:>7,} chunks: p50 {row['latency']['p50'] * 1000:.1f} ms, "
              f"p95 {row['latency']['p95'] * 1000:.1f} ms, open {row['open_s']:.1f} s", file=sys.stderr)
    result["baseline"]["latency"] = corpora[0].pop("baseline_latency")
    sizes = [c["chunks"] for c in corpora]
    result["retrieval"] = {"corpora": corpora, "queries": len(queries), "warmup": warmup, "top_k": base.top_k,
                           "exponent_p50": fit_exponent(sizes, [c["latency"]["p50"] for c in corpora]),
                           "exponent_p95": fit_exponent(sizes, [c["latency"]["p95"] for c in corpora]),
                           "exponent_open": fit_exponent(sizes, [c["open_s"] for c in corpora])}

    stage("answers (ours, LlamaIndex defaults)")
    material = base.model_copy(update={"data_dir": material_dir})
    result["answers"], result["baseline"]["answers"] = bench_llm(material, embed_model, questions, plan["answers"], index)

    stage("app")
    result["app"] = bench_app(base, material_dir)
    result["app"]["note"] = APP_NOTE


BASELINE_NOTE = (
    "`SentenceSplitter(chunk_size=1024, chunk_overlap=200)` over knowledge/source/*.txt into an in-memory `VectorStoreIndex` "
    "with the same embedding model (ingest: splitting and embedding, interleaved with our ingest reps, median), "
    "`as_retriever(similarity_top_k=5)` timed alternately with ours on the same queries over the material, and "
    "`as_query_engine(llm=<the same OpenAILike>, streaming=True, similarity_top_k=5)` (default compact synthesizer) on the "
    "same questions, alternating with ours.")


APP_NOTE = (
    "`python -m assistant ui` as a subprocess over the ingested material (DATA_DIR), local LLM, free UI_PORT; time from spawn "
    "until GET / returns 200. Cold: the first start in this run, which starts the llama.cpp server itself (the OS file cache is "
    "already warm from the bench's own imports, so this is not a first-boot figure). Warm: a second start while a llama.cpp "
    "server started beforehand already serves LOCAL_LLM_PORT (as with `python -m assistant serve-llm` in another terminal), so "
    "the UI reuses it. Peak RSS is VmHWM read from /proc after start-up (idle, no question asked), summed over the process tree "
    "(UI + its LLM server child; for warm, + the separate server): a sum of per-process peaks, an upper bound of the joint peak.")
