"""The report: bench.json, bench.md (targets, one section per measurement) and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.evaluation.bench.corpus import UPSERT_BATCH
from assistant.evaluation.bench.stats import check_targets, lookup


def fmt(value: Any, digits: int | None = None) -> str:
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
    return lines + ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]


def _section_ingest(ing: dict[str, Any]) -> list[str]:
    profile = ing["profile"]
    lines = ["", "## Ingest", "",
             "Full pipeline (`Assistant.ingest` into a fresh data dir: chunking, embedding, Chroma writes, BM25 and snapshot "
             f"reload) against `get_text_embedding_batch` on the same {ing['texts_embedded']} chunk texts in the same order "
             f"(longest first, as ingest embeds them, so batches pad little) in batches of {ing['batch']}, same loaded model, "
             "so the ratio measures the pipeline's overhead only; "
             f"{len(ing['reps'])} interleaved repetitions, medians.", ""]
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
    floor = ret["corpora"][0].get("query_embedding_latency")
    note = ([f"Of that, embedding the question alone (`get_query_embedding`, timed in the same loop at "
             f"{ret['corpora'][0]['chunks']:,} chunks) takes p50 {fmt(floor['p50'] * 1000, 1)} ms, "
             f"p95 {fmt(floor['p95'] * 1000, 1)} ms: the floor of any retrieval that embeds the question with this model.", ""]
            if floor else [])
    return lines + _table(header, rows) + ["", *note,
        "Scaling (least-squares slope of log time on log chunks): "
        f"p50 ∝ N^{fmt(ret.get('exponent_p50'), 2)}, p95 ∝ N^{fmt(ret.get('exponent_p95'), 2)}, "
        f"Assistant open ∝ N^{fmt(ret.get('exponent_open'), 2)}."]


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
             f"{fmt(result.get('seconds'), 0)} s in all.", "",
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
    if result.get("api"):
        from assistant.server.bench import render_markdown as api_markdown

        lines += ["", *api_markdown(result["api"]).splitlines(), "", "![API latency and throughput](api/api_bench.png)"]
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

