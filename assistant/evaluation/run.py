"""`python -m assistant eval`: score pipelines on the gold set, write JSON + Markdown + plots,
and (with --gate) fail when a metric is below the thresholds kept in evals/thresholds.json."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from assistant.citations import find_markers, split_sentences, strip_markers, verify_quote
from assistant.evaluation import metrics as m
from assistant.evaluation.gold import GoldQuestion, load_gold, ranking_labels, relevance_sets
from assistant.evaluation.pipelines import PIPELINES
from assistant.gate import AnswerabilityGate

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.config import Settings
    from assistant.types import Answer

THRESHOLDS = Path(__file__).resolve().parents[2] / "evals" / "thresholds.json"
K = 5
NODES: dict[str, list] = {}  # standalone query -> nodes of our pipeline, reused by the calibration sweep


def retrieval_scores(texts: list[str], question: GoldQuestion) -> dict[str, Any]:
    """Tier-0 retrieval metrics of one ranked passage list."""
    sets = relevance_sets(texts, question.relevant)
    labels = ranking_labels(sets)
    relevant = {f"g{i}" for i in range(len(question.relevant))}
    found = set().union(*sets[:K]) if sets else set()
    return {"hit@1": m.hit_at_k(labels, relevant, 1), "hit@5": m.hit_at_k(labels, relevant, K),
            "mrr": m.reciprocal_rank(labels, relevant, K), "recall@5": len(found) / len(question.relevant),
            "precision@5": m.precision_at_k(labels, relevant, K), "ndcg@10": m.ndcg_at_k(labels, relevant, 10),
            "first_rank": m.first_relevant_rank(labels, relevant), "context_chars": sum(len(t) for t in texts[:K])}


def answer_scores(answer: Answer, question: GoldQuestion, similarity: Any) -> dict[str, Any]:
    """Tier-0/1 answer and citation metrics of one Answer."""
    out: dict[str, Any] = {"refused": answer.refused, "mode": answer.mode}
    if answer.refused:
        return out
    text = strip_markers(answer.text)
    sentences = split_sentences(answer.text)
    out["citation_validity"] = m.citation_validity(find_markers(answer.text), len(answer.passages))
    out["coverage"] = m.citation_coverage(sum(1 for s in sentences if find_markers(s)), len(sentences)) if sentences else None
    out["quote_verified"] = (sum(verify_quote(c.quote, c.passage_text) for c in answer.citations) / len(answer.citations)
                             if answer.citations else None)
    gold_entries = {g.entry.id for g in question.relevant}
    out["gold_citation_precision"], out["gold_citation_recall"] = m.gold_citation_precision_recall(
        [c.entry_id for c in answer.citations], gold_entries) if gold_entries else (None, None)
    if question.answer_any:
        out["alias_hit"] = m.alias_hit(text, question.answer_any)
    if question.reference:
        out["exact_match"] = m.exact_match(text, [question.reference])
        out["token_f1"] = m.token_f1(text, [question.reference])
        out["semantic_similarity"] = similarity(text, question.reference) if similarity else None
    out["llm_context_chars"] = sum(len(p.text) for p in answer.passages) if answer.mode in ("generated", "extractive") else 0
    return out


def _timed_answer(assistant: Assistant, question: GoldQuestion) -> tuple[Answer, float, float]:
    from assistant.types import Answer

    start = time.perf_counter()
    first = None
    final = None
    for event in assistant.stream(question.question, question.history):
        if first is None:
            first = time.perf_counter() - start
        if isinstance(event, Answer):
            final = event
    assert final is not None
    return final, first or 0.0, time.perf_counter() - start


def evaluate(assistant: Assistant, questions: list[GoldQuestion], pipelines: list[str], answers: bool = True,
             similarity: Any = None, progress: bool = True) -> dict[str, Any]:
    """Per-question rows and aggregates for each pipeline."""
    retrievers = {name: PIPELINES[name](assistant, K) for name in pipelines}
    rows: list[dict[str, Any]] = []
    for q in tqdm(questions, desc="Evaluating", unit="question", disable=not progress):
        query = assistant.standalone_query(q.question, q.history)
        row: dict[str, Any] = {"id": q.id, "question": q.question, "query": query, "tags": q.tags, "answerable": q.answerable}
        for name, retrieve in retrievers.items():
            texts = retrieve(query)
            row[name] = retrieval_scores(texts, q) if q.answerable else {"context_chars": sum(len(t) for t in texts[:K])}
            if name == "ours":
                nodes = assistant.retrieve_nodes(query)
                NODES[query] = nodes
                row["retrieved"] = [str(n.node.metadata.get("entry_id")) for n in nodes]
                row["gate_signals"] = _gate_signals(nodes)
                row["gate"], row["gate_reason"] = assistant.answerable(query)
        if answers:
            answer, ttft, total = _timed_answer(assistant, q)
            row["answer"] = {"text": answer.text, "mode": answer.mode, "notice": answer.notice,
                             "citations": [{"number": c.number, "entry_id": c.entry_id, "quote": c.quote}
                                           for c in answer.citations],
                             "passages": {str(i): p.text for i, p in enumerate(answer.passages, 1)},
                             "ttft_s": ttft, "total_s": total, **answer_scores(answer, q, similarity)}
        rows.append(row)
    return {"rows": rows, "summary": summarize(rows, pipelines, answers), "calibration": calibrate(assistant, rows)}


def _gate_signals(nodes: list) -> dict[str, Any]:
    return {"best_vector": max((float(n.node.metadata.get("vector_score", 0)) for n in nodes), default=0.0),
            "named": any(n.node.metadata.get("named") for n in nodes),
            "table": any("table_field" in n.node.metadata for n in nodes)}


def _aggregate(values: list[Any]) -> dict[str, Any]:
    measured = [float(v) for v in values if v is not None]
    mean = m.mean_ignoring_none(measured)
    ci = m.bootstrap_ci(measured) if measured else None
    return {"mean": mean, "ci95": list(ci) if ci else None, "n": len(measured)}


def summarize(rows: list[dict[str, Any]], pipelines: list[str], answers: bool) -> dict[str, dict[str, Any]]:
    """Mean and 95 % bootstrap interval of every metric, per pipeline."""
    out: dict[str, dict[str, Any]] = {}
    answerable = [r for r in rows if r["answerable"]]
    for name in pipelines:
        keys = ["hit@1", "hit@5", "mrr", "recall@5", "precision@5", "ndcg@10", "context_chars"]
        out[name] = {k: _aggregate([r[name].get(k) for r in answerable]) for k in keys}
    gate = [(r["answerable"], not r["gate"]) for r in rows]
    out["ours"]["refusal_rate"] = _aggregate([float(refused) for ok, refused in gate if not ok])
    out["ours"]["false_refusal_rate"] = _aggregate([float(refused) for ok, refused in gate if ok])
    if answers:
        answered = [r["answer"] for r in rows]
        for key in ("citation_validity", "coverage", "quote_verified", "gold_citation_precision", "gold_citation_recall",
                    "alias_hit", "exact_match", "token_f1", "semantic_similarity", "llm_context_chars", "ttft_s", "total_s"):
            out["ours"][key] = _aggregate([a.get(key) for a in answered])
        out["ours"]["answer_refusal_rate"] = _aggregate([float(r["answer"]["refused"]) for r in rows if not r["answerable"]])
        out["ours"]["answer_false_refusal_rate"] = _aggregate([float(r["answer"]["refused"]) for r in rows if r["answerable"]])
        out["ours"]["extractive_share"] = _aggregate([float(a["mode"] == "extractive") for a in answered if not a["refused"]])
        # Time to first token: every answer, and only those the LLM wrote (refusals and table answers are instant).
        for key, modes in (("ttft_p50_s", None), ("ttft_p50_llm_s", ("generated", "extractive"))):
            ttft = sorted(a["ttft_s"] for a in answered if modes is None or a["mode"] in modes)
            if ttft:
                out["ours"][key] = {"mean": ttft[len(ttft) // 2], "ci95": None, "n": len(ttft)}
    return out


def calibrate(assistant: Assistant, rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Refusal and false-refusal rates of the gate across thresholds (for the calibration plot)."""
    curve = []
    for step in range(40, 96, 2):
        t = step / 100
        gate = AnswerabilityGate(threshold=t)
        refused = [(r["answerable"], not gate.answerable(NODES[r["query"]], r["query"])[0]) for r in rows]
        rates = m.refusal_rates(refused)
        curve.append({"threshold": t, **{k: v or 0.0 for k, v in rates.items()}})
    return curve


def check_thresholds(summary: dict[str, dict[str, Any]], thresholds: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Failures as sentences: a metric below its `min` or above its `max` (missing metrics fail too)."""
    failures = []
    for pipeline, limits in thresholds.items():
        for metric, bound in limits.items():
            value = summary.get(pipeline, {}).get(metric, {}).get("mean")
            if value is None:
                failures.append(f"{pipeline} {metric}: not measured")
            elif "min" in bound and value < bound["min"]:
                failures.append(f"{pipeline} {metric} = {value:.3f} is below the threshold {bound['min']}")
            elif "max" in bound and value > bound["max"]:
                failures.append(f"{pipeline} {metric} = {value:.3f} is above the threshold {bound['max']}")
    return failures


def main(args: Any, settings: Settings) -> int:
    from assistant.api import Assistant
    from assistant.evaluation.report import write_report

    pipelines = [p.strip() for p in args.pipeline.split(",") if p.strip()]
    unknown = set(pipelines) - set(PIPELINES)
    if unknown or "ours" not in pipelines:
        print(f"error: pipelines must include 'ours' and come from {', '.join(PIPELINES)}; got {args.pipeline}")
        return 2
    questions = load_gold(knowledge_dir=settings.knowledge_dir)
    if args.limit:
        questions = questions[: args.limit]
    with Assistant.from_settings(settings) as assistant:
        if assistant.index_size == 0:
            assistant.ingest(progress=True)
        similarity = _similarity(assistant)
        result = evaluate(assistant, questions, pipelines, answers=not args.no_answers, similarity=similarity)
        result["judge"] = _judge(args.judge, result, settings)
        result["settings"] = {"llm": f"{settings.llm_provider}:{settings.llm_model_name}", "embed": settings.embed_model_name,
                              "top_k": K, "questions": len(questions), "command": "python -m assistant eval " + _argv(args)}
    out = Path(args.out)
    write_report(result, out)
    print(f"Report: {out / 'report.md'}")
    if args.gate:
        thresholds = Path(args.thresholds) if args.thresholds else THRESHOLDS
        failures = check_thresholds(result["summary"], json.loads(thresholds.read_text()))
        for failure in failures:
            print(f"GATE FAILED: {failure}")
        if not failures:
            print(f"Eval gate passed ({thresholds}).")
        return 1 if failures else 0
    return 0


def _argv(args: Any) -> str:
    parts = [f"--pipeline {args.pipeline}"]
    parts += ["--no-answers"] if args.no_answers else []
    parts += [f"--limit {args.limit}"] if args.limit else []
    parts += ["--judge URL"] if args.judge else []
    return " ".join(parts)


def _similarity(assistant: Assistant):
    """Tier 1: LlamaIndex's SemanticSimilarityEvaluator with the bundled embedding model."""
    from llama_index.core.evaluation import SemanticSimilarityEvaluator

    evaluator = SemanticSimilarityEvaluator(embed_model=assistant.embed_model)
    return lambda answer, reference: evaluator.evaluate(response=answer, reference=reference).score


def _judge(url: str, result: dict[str, Any], settings: Settings) -> dict[str, Any]:
    from assistant.evaluation.judge import run_judge

    return run_judge(url, result["rows"], settings)
