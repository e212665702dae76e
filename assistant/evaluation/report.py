"""Eval report, per split: <out>/<split>/results.json for machines, report.md with tables and plots
for people; <out>/report.md puts every split found under <out> side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.evaluation.metrics import FAILURE_CLASSES

PLOTTED = ["hit@1", "hit@5", "mrr", "recall@5", "ndcg@10"]
BASELINE = "llamaindex-default"
SPLIT_ORDER = ("dev", "test", "extra", "all")
# The headline of the side-by-side table, in this order; every other metric of ours follows.
HEADLINE = ["clean_rate", "answer_false_refusal_rate", "answer_refusal_rate", "condensation_accuracy",
            "condensation_accuracy_followup", "condensation_accuracy_switch", "citation_validity", "quote_verified",
            "off_topic_citation_rate", "first_sentence_answer", "contradiction_rate", "alias_hit", "ttft_p50_s", "ttft_p95_s"]
SAMPLE_METRICS = ["clean_rate", "alias_hit", "first_sentence_answer", "contradiction_rate", "answer_false_refusal_rate",
                  "answer_refusal_rate", "ttft_p50_s", "ttft_p95_s"]
DEFINITIONS = (
    "**clean**: an out-of-scope question refused; an answerable one not refused, with a gold alias, no contradiction "
    "(a `wrong_any` string, or a clause holding ≥ 70 % of a gold quote's content words with a negation the quote lacks "
    "and the cited passage does not hold with the same words around it) "
    "and every cited entry among the question's relevant or allowed entries. **off-topic citation rate**: citations "
    "outside those entries over all citations (pooled; per question in `off_topic_citation_rate_per_question`). "
    "**first-sentence answer**: the first sentence alone holds an alias. **condensation accuracy** (conversation turns "
    "after the first): a follow-up's standalone query differs from the question and names its subject (or, for "
    "\"that company/lab\", its creator); a topic switch gains no word (left as asked, a dropped \"ok thanks.\" aside). "
    "TTFT: from the call to the first text.")


def _fmt(stat: dict[str, Any] | None) -> str:
    if not stat or stat.get("mean") is None:
        return "not measured"
    mean, ci = stat["mean"], stat.get("ci95")
    if abs(mean) >= 10:
        return f"{mean:,.0f}" + (f" [{ci[0]:,.0f}, {ci[1]:,.0f}]" if ci else "")
    return f"{mean:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _cell(text: Any, limit: int = 0) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text[:limit] + "…" if limit and len(text) > limit else text


def metric_table(summary: dict[str, dict[str, Any]]) -> str:
    """Markdown table: one row per metric, one column per pipeline (mean [95 % CI])."""
    pipelines = list(summary)
    metrics = list(dict.fromkeys(k for p in pipelines for k in summary[p]))
    lines = ["| metric | " + " | ".join(pipelines) + " |", "|---|" + "---|" * len(pipelines)]
    for metric in metrics:
        lines.append(f"| {metric} | " + " | ".join(_fmt(summary[p].get(metric)) if metric in summary[p] else "—"
                                                   for p in pipelines) + " |")
    return "\n".join(lines)


# --- plots ---------------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(result: dict[str, Any], out: Path) -> list[str]:
    """Bar chart of metrics per pipeline, first-relevant-rank histogram, refusal calibration curve,
    and (with answers) clean rate per category and failure classes per category."""
    plt = _pyplot()
    summary, rows = result["summary"], result["rows"]
    pipelines = list(summary)
    files = []
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(pipelines)
    for i, name in enumerate(pipelines):
        means = [summary[name][k]["mean"] or 0 for k in PLOTTED]
        cis = [summary[name][k]["ci95"] or [means[j]] * 2 for j, k in enumerate(PLOTTED)]
        errs = [[max(0.0, means[j] - cis[j][0]) for j in range(len(PLOTTED))],
                [max(0.0, cis[j][1] - means[j]) for j in range(len(PLOTTED))]]
        ax.bar([x + i * width for x in range(len(PLOTTED))], means, width, yerr=errs, capsize=3, label=name)
    ax.set_xticks([x + width * (len(pipelines) - 1) / 2 for x in range(len(PLOTTED))], PLOTTED)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Retrieval on the {result['split']} split (95 % bootstrap CI)")
    ax.legend()
    files.append(_save(plt, fig, out, "metrics.png"))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    labels = ["1", "2", "3", "4", "5", "miss"]
    for i, name in enumerate(pipelines):
        ranks = [r[name].get("first_rank") for r in rows if r["answerable"]]
        counts = [sum(1 for x in ranks if x == n) for n in range(1, 6)] + [sum(1 for x in ranks if x is None or x > 5)]
        ax.bar([x + i * width for x in range(6)], counts, width, label=name)
    ax.set_xticks([x + width * (len(pipelines) - 1) / 2 for x in range(6)], labels)
    ax.set_xlabel("rank of the first relevant passage")
    ax.set_ylabel("questions")
    ax.legend()
    files.append(_save(plt, fig, out, "ranks.png"))

    curve = result.get("calibration") or []
    if curve:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([c["threshold"] for c in curve], [c["refusal_rate"] for c in curve], label="refusal (unanswerable)")
        ax.plot([c["threshold"] for c in curve], [c["false_refusal_rate"] for c in curve], label="false refusal (answerable)")
        ax.axhline(0.8, ls=":", c="grey")
        ax.axhline(0.05, ls=":", c="grey")
        ax.set_xlabel("REFUSAL_THRESHOLD")
        ax.legend()
        ax.set_title("Answerability gate calibration")
        files.append(_save(plt, fig, out, "calibration.png"))
    if result.get("by_category"):
        files.append(_plot_clean(plt, result, out))
        files.append(_plot_failures(plt, result["by_category"], out))
    return files


def _save(plt: Any, fig: Any, out: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    return name


def _plot_clean(plt: Any, result: dict[str, Any], out: Path) -> str:
    """Clean-answer rate per primary category: ours on every question, ours and the LlamaIndex
    defaults on the same stratified sample."""
    series = {"ours (all questions)": result["by_category"]}
    sample = result.get("baseline_answers") or {}
    if sample.get("n"):
        series["ours (sample)"] = sample["by_category"]["ours"]
        series[f"{BASELINE} (sample)"] = sample["by_category"][BASELINE]
    tags = sorted(result["by_category"])
    fig, ax = plt.subplots(figsize=(max(7, 0.8 * len(tags) + 2), 4))
    width = 0.8 / len(series)
    for i, (name, cats) in enumerate(series.items()):
        stats = [(cats.get(t) or {}).get("clean_rate", {}) for t in tags]
        xs = [x + i * width for x in range(len(tags))]
        ax.bar(xs, [st.get("mean") or 0 for st in stats], width, label=name)
        for x, st in zip(xs, stats, strict=True):  # n on every measured bar, so a measured 0 differs from "not sampled"
            if st.get("n"):
                ax.text(x, (st["mean"] or 0) + 0.01, str(st["n"]), ha="center", va="bottom", fontsize=6)
    ax.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(tags))], tags, rotation=30, ha="right")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("clean-answer rate (number: answers)")
    ax.set_title(f"Clean answers per question category ({result['split']} split)")
    ax.legend(fontsize=8)
    return _save(plt, fig, out, "clean_by_category.png")


def _plot_failures(plt: Any, categories: dict[str, dict[str, Any]], out: Path) -> str:
    tags = sorted(categories)
    fig, ax = plt.subplots(figsize=(max(7, 0.8 * len(tags) + 2), 4))
    bottom = [0] * len(tags)
    for failure in FAILURE_CLASSES:
        counts = [categories[t]["failures"][failure] for t in tags]
        ax.bar(range(len(tags)), counts, 0.6, bottom=bottom, label=failure)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_xticks(range(len(tags)), tags, rotation=30, ha="right")
    ax.set_ylim(0, max([*bottom, 1]) * 1.1)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("answers (an answer may fail several ways)")
    ax.set_title("Failure classes of our answers per category")
    ax.legend(fontsize=8)
    return _save(plt, fig, out, "failures.png")


# --- markdown ----------------------------------------------------------------------------------------
def header(result: dict[str, Any]) -> str:
    """Where and how a split was measured: files, size, command, LLM, machine, date."""
    s = result["settings"]
    seed = "" if s.get("seed") is None else f" (seed {s['seed']})"
    return (f"Split **{result['split']}** (`{'`, `'.join(result['files'])}`): {result['questions']} single questions and "
            f"{result['conversations']} conversations ({result['turns']} turns). Command: `{s['command']}`. "
            f"LLM `{s['llm']}`{seed}, embeddings `{s['embed']}`, top-{s['top_k']}. Machine: {s['cpu']} ({s['cores']} cores); "
            f"{s['date']}. Conversation history: {s['history']}.")


def _row_line(row: dict[str, Any]) -> str:
    rank = row.get("ours", {}).get("first_rank")
    answer = row.get("answer", {})
    cites = ", ".join(f"[{c['number']}] {c['entry_id']}" for c in answer.get("citations", []))
    if "clean" in answer:
        why = "; ".join(answer["failures"]) + (f" ({answer['contradiction_detail']})" if answer.get("contradiction_detail")
                                               else "")
        verdict = "clean" if answer["clean"] else f"not clean: {why}"
        verdict += f" ({answer['mode']})"
    else:
        verdict = "—"
    if "condensation" in row:
        verdict += "; query " + ("right" if row["condensation"]["correct"] else "WRONG")
    query = "same" if row["query"] == row["question"] else _cell(row["query"], 120)
    return (f"| {row['id']} | {_cell(row['question'], 140)} | {query} | {', '.join(row.get('retrieved', [])[:3])} | "
            f"{rank if rank else ('—' if not row['answerable'] else 'miss')} | {_cell(answer.get('text', ''), 200)} | "
            f"{_cell(cites, 120)} | {_cell(verdict)} |")


def failure_table(rows: list[dict[str, Any]]) -> str:
    """Answers per failure class, with example ids."""
    answered = [r for r in rows if "answer" in r]
    lines = ["| failure class | answers | share of answers | examples |", "|---|---|---|---|"]
    for failure in FAILURE_CLASSES:
        ids = [r["id"] for r in answered if failure in r["answer"]["failures"]]
        share = f"{len(ids) / len(answered):.3f}" if answered else "—"
        lines.append(f"| {failure} | {len(ids)} | {share} | {', '.join(ids[:8])}{' …' if len(ids) > 8 else ''} |")
    return "\n".join(lines)


def category_table(categories: dict[str, dict[str, Any]]) -> str:
    lines = ["| category | answers | clean rate | " + " | ".join(FAILURE_CLASSES) + " |", "|---|---|---|" + "---|" * 5]
    for tag, c in categories.items():
        lines.append(f"| {tag} | {c['n']} | {_fmt(c['clean_rate'])} | "
                     + " | ".join(str(c["failures"][f]) for f in FAILURE_CLASSES) + " |")
    return "\n".join(lines)


def sample_table(sample: dict[str, Any]) -> str:
    """Ours vs the LlamaIndex defaults on the same stratified sample."""
    summary = sample["summary"]
    lines = [f"| metric (sample of {sample['n']}) | ours | {BASELINE} |", "|---|---|---|"]
    for metric in SAMPLE_METRICS:
        lines.append(f"| {metric} | {_fmt(summary['ours'].get(metric))} | {_fmt(summary[BASELINE].get(metric))} |")
    return "\n".join(lines)


SAMPLE_NOTE = (f"{BASELINE}: `SentenceSplitter` 1024/200 over `knowledge/source/*.txt`, `VectorStoreIndex` with the same "
               "embedding model, `as_query_engine(similarity_top_k=5, streaming=True)` with the same LLM; one unscored "
               "warm-up question first. Its answers carry no citations, so the clean rule's citation condition holds "
               "vacuously for it; a refusal is recognised by phrases (\"not mentioned\", \"does not provide\", \"cannot\", "
               "\"I don't know\", \"no information\", …). Single questions only, spread over the primary categories.")


def split_report(result: dict[str, Any], images: list[str]) -> str:
    judge = result.get("judge", {})
    lines = [f"# Evaluation report — {result['split']} split\n", header(result) + "\n",
             "## Metrics (mean [95 % bootstrap CI])\n", metric_table(result["summary"]), "", DEFINITIONS + "\n",
             f"Tier 2 (judge LLM): **{judge.get('status', 'not measured')}**"
             + (f" — {judge['reason']}" if judge.get("reason") else "") + "\n"]
    if result.get("by_category"):
        lines += ["## Failure classes\n", failure_table(result["rows"]), "",
                  "## Clean answers per category (primary tag)\n", category_table(result["by_category"]), ""]
    sample = result.get("baseline_answers") or {}
    if sample.get("n"):
        lines += [f"## Answers: ours vs {BASELINE} on the same sample\n", sample_table(sample), "", SAMPLE_NOTE + "\n",
                  f"| id | question | {BASELINE} answer | TTFT s | verdict |", "|---|---|---|---|---|"]
        lines += [f"| {r['id']} | {_cell(r['question'], 120)} | {_cell(r['text'], 200)} | {r['ttft_s']:.2f} | "
                  + ("clean" if r["clean"] else "not clean: " + "; ".join(r["failures"])) + " |" for r in sample["rows"]]
        lines.append("")
    lines += [f"![{name}]({name})" for name in images]
    lines += ["\n## Per question\n",
              "| id | question | searched query | retrieved (top 3) | first relevant rank | answer | citations | verdict |",
              "|---|---|---|---|---|---|---|---|"]
    lines += [_row_line(r) for r in result["rows"]]
    return "\n".join(lines) + "\n"


def load_results(out: Path) -> dict[str, dict[str, Any]]:
    """Every split's results.json under `out`, in split order."""
    found = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/results.json")}
    return dict(sorted(found.items(), key=lambda kv: (SPLIT_ORDER.index(kv[0]) if kv[0] in SPLIT_ORDER else 9, kv[0])))


def side_by_side(results: dict[str, dict[str, Any]], link: str = "") -> str:
    """The splits' figures for ours side by side (headline metrics first), and ours vs the LlamaIndex
    defaults on each split's sample. `link` prefixes the per-split report links."""
    splits = list(results)
    lines = [f"- **{label}**: " + header(r) + f" Report: [{link}{label}/report.md]({link}{label}/report.md)."
             for label, r in results.items()]
    metrics = list(dict.fromkeys([k for k in HEADLINE if any(k in r["summary"]["ours"] for r in results.values())]
                                 + [k for r in results.values() for k in r["summary"]["ours"]]))
    lines += ["", "| metric (ours, mean [95 % CI]) | " + " | ".join(f"{s} split" for s in splits) + " |",
              "|---|" + "---|" * len(splits)]
    lines += [f"| {k} | " + " | ".join(_fmt(r["summary"]["ours"].get(k)) if k in r["summary"]["ours"] else "—"
                                       for r in results.values()) + " |" for k in metrics]
    sampled = {label: r["baseline_answers"] for label, r in results.items() if (r.get("baseline_answers") or {}).get("n")}
    if sampled:
        columns = [(label, who) for label in sampled for who in ("ours", BASELINE)]
        lines += ["", "| answers on a stratified sample | " + " | ".join(f"{label}: {who} (n={sampled[label]['n']})"
                                                                      for label, who in columns) + " |",
                  "|---|" + "---|" * len(columns)]
        lines += [f"| {k} | " + " | ".join(_fmt(sampled[label]["summary"][who].get(k)) for label, who in columns) + " |"
                  for k in SAMPLE_METRICS]
        lines += ["", SAMPLE_NOTE]
    return "\n".join(lines)


def write_report(result: dict[str, Any], out: Path) -> list[Path]:
    """Write results.json, the plots and report.md per split into `out/<split>/`, then `out/report.md`
    with every split found under `out` side by side. Returns the reports written."""
    written = []
    for label, section in result["splits"].items():
        folder = out / label
        folder.mkdir(parents=True, exist_ok=True)
        data = {"settings": result["settings"], **section}
        (folder / "results.json").write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str))
        (folder / "report.md").write_text(split_report(data, plot(data, folder)))
        written.append(folder / "report.md")
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text("# Evaluation reports\n\n" + side_by_side(load_results(out)) + "\n\n" + DEFINITIONS + "\n")
    written.append(out / "report.md")
    return written
