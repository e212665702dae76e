"""Keep the README's generated parts true: `python -m assistant.evaluation.readme`.

Fills the blocks between ``<!-- name:start -->`` and ``<!-- name:end -->`` with the settings
table (from assistant/config.py), the latest eval results (evals/results/) and the latest
benchmark (evals/bench/). Tests check that the settings table matches the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.config import PROJECT_DIR, env_example, markdown_table
from assistant.evaluation.report import metric_table

README = PROJECT_DIR / "README.md"
EVAL_DIR = PROJECT_DIR / "evals" / "results"
BENCH_DIR = PROJECT_DIR / "evals" / "bench"


def replace_block(text: str, name: str, content: str) -> str:
    """Text with the named marker block's content replaced."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"README has no <!-- {name}:start/end --> block")
    return pattern.sub(lambda m: m.group(1) + content.rstrip() + "\n" + m.group(2), text)


def eval_block(results_dir: Path = EVAL_DIR) -> str:
    """The eval summary: command, table, plots."""
    path = results_dir / "results.json"
    if not path.exists():
        return "Not run yet: `python -m assistant eval`."
    result = json.loads(path.read_text())
    settings = result["settings"]
    rel = results_dir.relative_to(PROJECT_DIR)
    return "\n".join([
        f"Measured with `{settings['command']}` on {settings['questions']} hand-written gold questions "
        f"(`evals/gold.jsonl`; LLM `{settings['llm']}`, embeddings `{settings['embed']}`). "
        f"Full report with per-question rows: [{rel}/report.md]({rel}/report.md). Mean [95 % bootstrap CI]; "
        "retrieval metrics over answerable questions, a passage is relevant when it holds the gold quote and the entry's name.",
        "", metric_table(result["summary"]), "",
        f"Tier 2 (judge LLM): {result.get('judge', {}).get('status', 'not measured')}"
        + (f" — {result['judge']['reason']}." if result.get("judge", {}).get("reason") else "."),
        "", f"![metrics]({rel}/metrics.png)", f"![first relevant rank]({rel}/ranks.png)",
        f"![gate calibration]({rel}/calibration.png)",
        "", "The CI gate (`make test` → `python -m assistant eval --gate`) fails when a metric misses "
        "`evals/thresholds.json`.",
    ])


def bench_block(bench_dir: Path = BENCH_DIR) -> str:
    """The benchmark summary section of bench.md (everything up to its first '## Details')."""
    path = bench_dir / "bench.md"
    if not path.exists():
        return "Not run yet: `python -m assistant bench`."
    text = path.read_text()
    rel = bench_dir.relative_to(PROJECT_DIR)
    body = text.split("\n## Details", 1)[0]
    body = re.sub(r"^# .*\n", "", body)
    body = re.sub(r"\]\((?!http)([^)]+\.png)\)", rf"]({rel}/\1)", body)
    return body.strip() + f"\n\nFull report: [{rel}/bench.md]({rel}/bench.md)."


def main() -> None:
    text = README.read_text()
    text = replace_block(text, "config-table", markdown_table())
    text = replace_block(text, "eval", eval_block())
    text = replace_block(text, "bench", bench_block())
    README.write_text(text)
    (PROJECT_DIR / ".env.example").write_text(env_example())
    print("README.md and .env.example updated.")


if __name__ == "__main__":
    main()
