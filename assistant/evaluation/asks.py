"""Train :class:`assistant.asks.FieldAsks` on the dev split: ``python -m assistant.evaluation.asks``.

Examples are the dev questions and conversation turns whose standalone query (condensed with the gold
references as history, as ``eval --no-answers`` does) names model rows and nothing else:
* "fields" (1): answerable, with only model rows as evidence ("Who is behind Whisper?");
* "more" (0): unanswerable ("How many GPUs trained Megatron-LM?").
Answerable questions answered from prose that speaks of a model ("Where else does DALL-E come up?") are
left out. The test split is never read.

Five-fold cross-validation gives each example a held-out probability; the threshold is the lowest at which
at most ``MAX_PASSED`` of the "more" examples score above it. The weights, threshold and the cross-validated
rates go to ``assistant/field_asks.json``; a plot of the held-out probabilities to ``evals/results/asks.png``.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from assistant.asks import WEIGHTS_PATH, masked
from assistant.evaluation.gold import load_split

C = 10.0  # inverse L2 strength; 0.3-10 tried on dev (cross-validated), 10 separates best
MAX_PASSED = 0.01  # share of "more" questions the threshold may let through, held out
FOLDS = 5
PLOT_PATH = Path(__file__).resolve().parents[2] / "evals" / "results" / "asks.png"


def examples(assistant: Any) -> list[tuple[str, str, int]]:
    """(id, standalone query, label) for the dev questions about model rows only."""
    names = assistant._require_index().retriever.names
    gold = load_split("dev")
    items = [(q, q.history) for q in gold.singles]
    for conversation in gold.conversations:
        history: list[tuple[str, str]] = []
        for q in conversation.turns:
            items.append((q, list(history)))
            history += [("user", q.question), ("assistant", q.reference)]
    out = []
    for q, history in tqdm(items, desc="Reading dev questions", unit="question"):
        query = assistant.standalone_query(q.question, history)
        subjects = names.find(query)
        if not subjects or any(names.kinds.get(s) != "model" for s in subjects):
            continue
        if q.answerable and not all(item.entry.kind == "model" for item in q.relevant):
            continue  # answered from prose about the model, not from its row
        out.append((q.id, query, int(q.answerable)))
    return out


def _model() -> Any:
    """The classifier trained, unfitted: L2-regularised logistic regression, classes weighted to balance."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=5000, class_weight="balanced")


def held_out(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each example's probability from a model trained without its fold."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    return cross_val_predict(_model(), x, y, cv=StratifiedKFold(FOLDS, shuffle=True, random_state=0),
                             method="predict_proba")[:, 1]


def threshold_for(p: np.ndarray, y: np.ndarray, max_passed: float = MAX_PASSED) -> float:
    """The lowest threshold that lets at most `max_passed` of the label-0 probabilities through."""
    negatives = np.sort(p[y == 0])[::-1]
    allowed = int(max_passed * len(negatives))
    return float(min(0.99, negatives[allowed] + 1e-6)) if len(negatives) > allowed else 0.5


def train(assistant: Any, out: Path = WEIGHTS_PATH, plot: Path | None = PLOT_PATH) -> dict[str, Any]:
    rows = examples(assistant)
    names = assistant._require_index().retriever.names
    texts = [masked(query, names) for _, query, _ in rows]
    x = np.array(assistant.embed_model.get_text_embedding_batch(texts, show_progress=True), dtype=np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.array([label for _, _, label in rows])
    p = held_out(x, y)
    threshold = threshold_for(p, y)
    model = _model().fit(x, y)
    saved = {
        "what": "P(a question naming only model rows asks only for their fields); see assistant/asks.py",
        "trained": datetime.now(UTC).strftime("%Y-%m-%d"),
        "data": f"dev split: {int(y.sum())} fields, {int((1 - y).sum())} more",
        "embed_model": assistant.settings.embed_model_name,
        "C": C,
        "threshold": round(threshold, 4),
        "held_out": {"fields_passed": round(float((p[y == 1] >= threshold).mean()), 3),
                     "more_passed": round(float((p[y == 0] >= threshold).mean()), 3)},
        "intercept": float(model.intercept_[0]),
        "coef": [round(float(w), 6) for w in model.coef_[0]],
    }
    out.write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
    if plot is not None:
        _plot(p, y, threshold, plot)
    return saved


def _plot(p: np.ndarray, y: np.ndarray, threshold: float, path: Path) -> None:
    from assistant.evaluation.report import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = np.linspace(0, 1, 41)
    ax.hist(p[y == 1], bins=bins, alpha=0.7, label=f"asks for the row's fields (n={int(y.sum())})")
    ax.hist(p[y == 0], bins=bins, alpha=0.7, label=f"asks for more: unanswerable (n={int((1 - y).sum())})")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_xlabel("held-out P(fields), 5-fold cross-validation on dev")
    ax.set_ylabel("questions")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--plot", type=Path, default=PLOT_PATH)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.api import Assistant

    with Assistant.from_settings() as assistant:
        saved = train(assistant, args.out, args.plot)
    print(f"{saved['data']}; threshold {saved['threshold']}; held out: {saved['held_out']} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
