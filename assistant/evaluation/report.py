"""Eval report: results.json for machines; report.md with tables and plots for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PLOTTED = ["hit@1", "hit@5", "mrr", "recall@5", "ndcg@10"]


def _fmt(stat: dict[str, Any] | None) -> str:
    if not stat or stat.get("mean") is None:
        return "not measured"
    mean, ci = stat["mean"], stat.get("ci95")
    if abs(mean) >= 10:
        return f"{mean:,.0f}" + (f" [{ci[0]:,.0f}, {ci[1]:,.0f}]" if ci else "")
    return f"{mean:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def metric_table(summary: dict[str, dict[str, Any]]) -> str:
    """Markdown table: one row per metric, one column per pipeline (mean [95 % CI])."""
    pipelines = list(summary)
    metrics = list(dict.fromkeys(k for p in pipelines for k in summary[p]))
    lines = ["| metric | " + " | ".join(pipelines) + " |", "|---|" + "---|" * len(pipelines)]
    for metric in metrics:
        lines.append(f"| {metric} | " + " | ".join(_fmt(summary[p].get(metric)) if metric in summary[p] else "—"
                                                   for p in pipelines) + " |")
    return "\n".join(lines)


def plot(result: dict[str, Any], out: Path) -> list[str]:
    """Bar chart of metrics per pipeline, first-relevant-rank histogram, refusal calibration curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary, rows = result["summary"], result["rows"]
    pipelines = list(summary)
    files = []
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(pipelines)
    for i, name in enumerate(pipelines):
        means = [summary[name][k]["mean"] or 0 for k in PLOTTED]
        errs = [[means[j] - (summary[name][k]["ci95"] or [means[j]] * 2)[0] for j, k in enumerate(PLOTTED)],
                [(summary[name][k]["ci95"] or [means[j]] * 2)[1] - means[j] for j, k in enumerate(PLOTTED)]]
        ax.bar([x + i * width for x in range(len(PLOTTED))], means, width, yerr=errs, capsize=3, label=name)
    ax.set_xticks([x + width * (len(pipelines) - 1) / 2 for x in range(len(PLOTTED))], PLOTTED)
    ax.set_ylim(0, 1.05)
    ax.set_title("Retrieval on the gold set (95 % bootstrap CI)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=110)
    files.append("metrics.png")
    plt.close(fig)

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
    fig.tight_layout()
    fig.savefig(out / "ranks.png", dpi=110)
    files.append("ranks.png")
    plt.close(fig)

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
        fig.tight_layout()
        fig.savefig(out / "calibration.png", dpi=110)
        files.append("calibration.png")
        plt.close(fig)
    return files


def _row_line(row: dict[str, Any]) -> str:
    ours = row.get("ours", {})
    rank = ours.get("first_rank")
    answer = row.get("answer", {})
    text = " ".join(answer.get("text", "").split())[:160].replace("|", "\\|")
    cites = ", ".join(f"[{c['number']}] {c['entry_id']}" for c in answer.get("citations", []))[:120]
    verdict = "refused" if answer.get("refused") else answer.get("mode", "")
    return (f"| {row['id']} | {row['question'].replace('|', '/')} | {', '.join(row.get('retrieved', [])[:3])} | "
            f"{rank if rank else ('—' if not row['answerable'] else 'miss')} | {text} | {cites} | {verdict} |")


def write_report(result: dict[str, Any], out: Path) -> None:
    """Write results.json, the plots and report.md into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
    images = plot(result, out)
    judge = result.get("judge", {})
    lines = [f"# Evaluation report\n\nCommand: `{result['settings']['command']}` — {result['settings']['questions']} questions, "
             f"LLM `{result['settings']['llm']}`, embeddings `{result['settings']['embed']}`, "
             f"top-{result['settings']['top_k']}.\n",
             "## Metrics (mean [95 % bootstrap CI])\n", metric_table(result["summary"]), "",
             f"Tier 2 (judge LLM): **{judge.get('status', 'not measured')}**"
             + (f" — {judge['reason']}" if judge.get("reason") else "") + "\n"]
    lines += [f"![{name}]({name})" for name in images]
    lines += ["\n## Per question\n", "| id | question | retrieved (top 3) | first relevant rank | answer | citations | verdict |",
              "|---|---|---|---|---|---|---|"]
    lines += [_row_line(r) for r in result["rows"]]
    (out / "report.md").write_text("\n".join(lines) + "\n")
