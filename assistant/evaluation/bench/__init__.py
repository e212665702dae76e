"""`python -m assistant bench`: ingest throughput, retrieval latency against corpus size, answer
latency with the bundled model, UI start time and memory, and LlamaIndex defaults measured in the
same run. Writes ``bench.json`` (every figure), ``bench.md`` (tables, targets, plots) and PNG plots.

Large corpora are the real knowledge nodes plus synthetic ones (article sentences recombined to
the real chunks' lengths, random unit vectors) written to Chroma the way ingest writes; an
``Assistant`` opened over them runs the real query path (query embedding, BM25, fusion, HNSW, names).

Modules: ``stats`` (statistics, targets, machine facts, helpers), ``corpus`` (synthetic corpora and
retrieval latency), ``ingest`` (ingest throughput), ``answers`` (answer latency), ``app`` (UI start
and memory), ``report`` (bench.json, bench.md, plots); this module runs the stages in order.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.evaluation.bench.answers import PromptCounter, assign_server_records, bench_llm, server_records
from assistant.evaluation.bench.app import bench_app
from assistant.evaluation.bench.corpus import article_sentences, build_corpus, measure_corpus, synthetic_nodes, time_queries
from assistant.evaluation.bench.ingest import bench_ingest, ingest_growth
from assistant.evaluation.bench.report import fmt, render_markdown, write_report
from assistant.evaluation.bench.stats import (
    TARGETS,
    check_targets,
    fit_exponent,
    free_port,
    load_questions,
    machine_facts,
    open_assistant,
    percentile,
    summarize,
)

__all__ = ["TARGETS", "PromptCounter", "article_sentences", "assign_server_records", "build_corpus", "check_targets",
           "fit_exponent", "main", "percentile", "render_markdown", "run_stages", "server_records", "summarize",
           "synthetic_nodes", "time_queries", "write_report"]

SIZES = {"quick": [1_000, 10_000], "full": [1_000, 10_000, 100_000]}


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
        run_stages(result, base, quick, out)
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    result["seconds"] = time.perf_counter() - started
    write_report(result, out)
    print(f"\nWrote {out / 'bench.md'} and {out / 'bench.json'}.")
    for t in result["targets"]:
        verdict = "not measured" if t["met"] is None else ("met" if t["met"] else "NOT MET")
        print(f"  {t['label']}: {fmt(t['value'])} (target {t['target']}): {verdict}")
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_stages(result: dict[str, Any], base: Settings, quick: bool, out: Path | None = None) -> None:
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

    if out is not None:
        stage("API over the Python API (the served /api beside Assistant.ask)")
        from assistant.server.bench import bench_api

        with open_assistant(material, embed_model) as assistant:
            result["api"] = bench_api(assistant, material, out / "api", repeats=2 if quick else 5)

    stage("app")
    result["app"] = bench_app(base, material_dir)
    result["app"]["note"] = APP_NOTE


BASELINE_NOTE = (
    "`SentenceSplitter(chunk_size=1024, chunk_overlap=200)` over knowledge/source/*.txt into an in-memory `VectorStoreIndex` "
    "with the same embedding model (ingest: splitting and embedding, interleaved with our ingest reps, median), "
    "`as_retriever(similarity_top_k=5)` timed alternately with ours on the same queries over the material, and "
    "`as_query_engine(llm=<the same OpenAILike>, streaming=True, similarity_top_k=5)` (default compact synthesizer) on the "
    "same questions, as a block after ours (see Answers for why blocks).")


APP_NOTE = (
    "`python -m assistant ui` as a subprocess over the ingested material (DATA_DIR), local LLM, free UI_PORT; time from spawn "
    "until GET / returns 200. Cold: the first start in this run, which starts the llama.cpp server itself (the OS file cache is "
    "already warm from the bench's own imports, so this is not a first-boot figure). Warm: a second start while a llama.cpp "
    "server started beforehand already serves LOCAL_LLM_PORT (as with `python -m assistant serve-llm` in another terminal), so "
    "the UI reuses it. Peak RSS is VmHWM read from /proc after start-up (idle, no question asked), summed over the process tree "
    "(UI + its LLM server child; for warm, + the separate server): a sum of per-process peaks, an upper bound of the joint peak.")
