"""Keep the README's generated parts true: `python -m assistant.evaluation.readme`.

Fills the blocks between ``<!-- name:start -->`` and ``<!-- name:end -->`` with the settings
table (from assistant/config.py), the latest eval results (evals/results/) and the latest
benchmark (evals/bench/). Tests check that the settings table matches the code.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.config import PROJECT_DIR, env_example, markdown_table
from assistant.evaluation.report import DEFINITIONS, load_results, side_by_side

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
    """The eval summary: dev and test figures side by side, each with its files, LLM, command,
    machine and date, then the plots of each split."""
    results = {label: r for label, r in load_results(results_dir).items() if label in ("dev", "test")}
    try:
        rel = f"{results_dir.resolve().relative_to(PROJECT_DIR)}/"
    except ValueError:
        rel = f"{results_dir}/"
    missing = [f"`{label}` split not measured yet: `python -m assistant eval --split {label}`."
               for label in ("dev", "test") if label not in results]
    if not results:
        return "Not run yet: `python -m assistant eval --split dev` and `python -m assistant eval --split test`."
    lines = ["Two gold splits (evals/README.md): **dev** is where weights, thresholds and prompts are tuned; **test** is "
             "held out and only reported and gated. Mean [95 % bootstrap CI]; retrieval metrics over answerable "
             "questions (a passage is relevant when it holds the gold quote and the entry's name).", "",
             side_by_side(results, rel), *([""] + missing if missing else []), "", DEFINITIONS, ""]
    for label in results:
        for image, title in (("clean_by_category.png", "clean answers per category"), ("failures.png", "failure classes"),
                             ("metrics.png", "retrieval per pipeline")):
            if (results_dir / label / image).exists():
                lines.append(f"![{label}: {title}]({rel}{label}/{image})")
    lines += ["", "`make test` gates retrieval, refusal and follow-up condensation on the test split without answers "
              "(`python -m assistant eval --split test --no-answers --gate`, `evals/thresholds.json`); `make eval` gates "
              "answers on the test split against the answer-quality targets in `evals/thresholds-answers.json`."]
    return "\n".join(lines)


def bench_block(bench_dir: Path = BENCH_DIR) -> str:
    """The benchmark summary section of bench.md (everything up to its first '## Details')."""
    path = bench_dir / "bench.md"
    if not path.exists():
        return "Not run yet: `python -m assistant bench`."
    text = path.read_text()
    rel = bench_dir.relative_to(PROJECT_DIR)
    body = text.split("\n## Details", 1)[0]
    body = re.sub(r"^# .*\n", "", body)
    body = re.sub(r"^## ", "### ", body, flags=re.M)  # sections of the README's Benchmarks section
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
