"""Tier 2: a judge LLM (any OpenAI-compatible URL) for faithfulness, answer relevancy and
ALCE citation recall/precision — only after it passes a calibration gate.

Short own prompts with one-word yes/no verdicts at temperature 0; strict parsing (the
first word must be yes or no). The judge first labels evals/judge_calibration.jsonl;
below 80 % accuracy or 95 % parseable outputs, every tier-2 metric is reported as
"not measured" — never as 0 or NaN.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from assistant.citations import split_sentences, strip_markers
from assistant.config import PROJECT_DIR
from assistant.evaluation.metrics import mean_ignoring_none

if TYPE_CHECKING:
    from assistant.config import Settings

CALIBRATION = PROJECT_DIR / "evals" / "judge_calibration.jsonl"
MIN_ACCURACY, MIN_PARSED = 0.8, 0.95

SUPPORT_PROMPT = """Premise: {premise}

Statement: {statement}

Is the statement fully supported by the premise? Answer with one word: yes or no."""
RELEVANCE_PROMPT = """Question: {question}

Answer: {answer}

Does the answer address the question? Answer with one word: yes or no."""
NOT_MEASURED = {"status": "not measured"}


def parse_verdict(text: str) -> bool | None:
    """True for yes, False for no, None when the first word is neither."""
    match = re.match(r"\W*(yes|no)\b", text.strip().lower())
    return None if not match else match.group(1) == "yes"


class Judge:
    """Asks yes/no questions of an OpenAI-compatible chat endpoint."""

    def __init__(self, url: str, settings: Settings):
        from llama_index.llms.openai_like import OpenAILike

        self.llm = OpenAILike(api_base=url, api_key=settings.llm_api_key.get_secret_value() or "no-key",
                              model=settings.llm_model_name, is_chat_model=True, temperature=0.0, max_tokens=4,
                              timeout=settings.llm_timeout, max_retries=settings.llm_max_retries)

    def ask(self, prompt: str) -> bool | None:
        from llama_index.core.base.llms.types import ChatMessage

        try:
            return parse_verdict(self.llm.chat([ChatMessage(role="user", content=prompt)]).message.content or "")
        except Exception:  # an unreachable or failing judge counts as unparsed
            return None

    def supports(self, premise: str, statement: str) -> bool | None:
        return self.ask(SUPPORT_PROMPT.format(premise=premise, statement=statement))


def calibrate(judge: Judge) -> dict[str, Any]:
    """Accuracy and parse rate on the fixed statement pairs."""
    pairs = [json.loads(line) for line in CALIBRATION.read_text().splitlines() if line.strip()]
    verdicts = [judge.supports(p["premise"], p["statement"]) for p in pairs]
    parsed = [v for v in verdicts if v is not None]
    correct = sum(v == (p["label"] == "yes") for v, p in zip(verdicts, pairs, strict=True) if v is not None)
    accuracy, parse_rate = correct / len(pairs), len(parsed) / len(pairs)
    return {"accuracy": accuracy, "parse_rate": parse_rate, "passed": accuracy >= MIN_ACCURACY and parse_rate >= MIN_PARSED}


def score_row(judge: Judge, row: dict[str, Any], passages: dict[str, str]) -> dict[str, float | None]:
    """Faithfulness, relevancy and ALCE citation recall/precision for one answered row."""
    answer = row["answer"]
    sentences = [s for s in split_sentences(answer["text"]) if strip_markers(s)]
    context = "\n".join(passages.values())
    faithful = [judge.supports(context, strip_markers(s)) for s in sentences]
    cited = {c["number"]: c for c in answer["citations"]}
    recall, precision = [], []
    for sentence in sentences:
        numbers = [int(n) for n in re.findall(r"\[(\d+)\]", sentence) if int(n) in cited]
        premise = "\n".join(passages.get(str(n), "") for n in numbers)
        recall.append(judge.supports(premise, strip_markers(sentence)) if numbers else False)
        precision += [judge.supports(passages.get(str(n), ""), strip_markers(sentence)) for n in numbers]
    relevant = judge.ask(RELEVANCE_PROMPT.format(question=row["question"], answer=strip_markers(answer["text"])))
    as_float = lambda xs: mean_ignoring_none([None if x is None else float(x) for x in xs])  # noqa: E731
    return {"faithfulness": as_float(faithful), "answer_relevancy": None if relevant is None else float(relevant),
            "citation_recall": as_float(recall), "citation_precision": as_float(precision)}


def run_judge(url: str, rows: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    """Tier-2 metrics, or 'not measured' with the reason."""
    if not url:
        return {**NOT_MEASURED, "reason": "no judge endpoint configured (--judge URL)"}
    judge = Judge(url, settings)
    gate = calibrate(judge)
    if not gate["passed"]:
        return {**NOT_MEASURED, "reason": f"judge failed calibration (accuracy {gate['accuracy']:.2f}, "
                                          f"parsed {gate['parse_rate']:.2f}; needs {MIN_ACCURACY}, {MIN_PARSED})",
                "calibration": gate}
    scores = [score_row(judge, r, r["answer"].get("passages", {})) for r in rows if "answer" in r and not r["answer"]["refused"]]
    keys = ("faithfulness", "answer_relevancy", "citation_recall", "citation_precision")
    return {"status": "measured", "calibration": gate, **{k: mean_ignoring_none([s[k] for s in scores]) for k in keys}}
