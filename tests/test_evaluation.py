"""The eval command: gold resolution, relevance rule, report, CI gate and the judge gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.evaluation.gold import load_gold, ranking_labels, relevance_sets, resolve
from assistant.evaluation.judge import Judge, calibrate, parse_verdict, run_judge
from assistant.evaluation.run import check_thresholds
from assistant.knowledge import load_entries
from tests.conftest import PROJECT_DIR, make_settings


def test_gold_set_resolves_every_entry():
    questions = load_gold()
    assert len(questions) >= 80
    assert sum(not q.answerable for q in questions) >= 12
    assert all(item.entry.id for q in questions for item in q.relevant)


def test_resolve_uses_kind_and_quote_to_disambiguate():
    entries = load_entries()
    assert resolve("YOLO (You Only Look Once)|glossary", entries).kind == "glossary"
    assert resolve("BEiT", entries, "Image Representation").id != resolve("BEiT", entries, "Image").id
    with pytest.raises(ValueError):
        resolve("No Such Entry", entries)


def test_relevance_needs_quote_and_name():
    [item] = load_gold()[0].relevant  # g001: Negative Prompt
    texts = [f"Negative Prompt: Additional textual input used to {item.quote}.", f"Something else: {item.quote}.",
             "Negative Prompt"]
    sets = relevance_sets(texts, [item])
    assert sets == [{0}, set(), set()]
    assert ranking_labels(sets) == ["g0", "miss1", "miss2"]


def test_threshold_gate_fails_when_raised_above_measured():
    summary = {"ours": {"hit@1": {"mean": 0.91}, "false_refusal_rate": {"mean": 0.02}}}
    assert check_thresholds(summary, {"ours": {"hit@1": {"min": 0.90}, "false_refusal_rate": {"max": 0.05}}}) == []
    failures = check_thresholds(summary, {"ours": {"hit@1": {"min": 0.95}}})
    assert failures == ["ours hit@1 = 0.910 is below the threshold 0.95"]
    assert check_thresholds(summary, {"ours": {"mrr": {"min": 0.5}}}) == ["ours mrr: not measured"]


def _eval_cli(data_dir, out, *extra):
    env = {**os.environ, "DATA_DIR": str(data_dir), "LLM_PROVIDER": "openai_compatible",
           "LLM_BASE_URL": "http://127.0.0.1:9/v1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "assistant", "eval", "--no-answers",
                           "--pipeline", "ours,llamaindex-default,bm25", "--out", str(out), *extra],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_eval_cli_writes_report_and_gate_fails_on_raised_threshold(index_copy, tmp_path):
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"ours": {"hit@1": {"min": 1.01}}}))
    run = _eval_cli(index_copy, tmp_path / "report", "--limit", "12", "--gate", "--thresholds", str(strict))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "GATE FAILED: ours hit@1" in run.stdout
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| hit@1 |" in report and "llamaindex-default" in report and "bm25" in report
    assert "Tier 2 (judge LLM): **not measured**" in report
    for image in ("metrics.png", "ranks.png", "calibration.png"):
        assert (tmp_path / "report" / image).stat().st_size > 1000
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    assert len(results["rows"]) == 12 and results["summary"]["ours"]["hit@1"]["ci95"] is not None


def test_parse_verdict_is_strict():
    assert parse_verdict("Yes.") is True and parse_verdict("no, because") is False
    assert parse_verdict("The answer is yes") is None and parse_verdict("") is None


def test_judge_not_configured_is_not_measured():
    result = run_judge("", [], make_settings(PROJECT_DIR / ".data"))
    assert result["status"] == "not measured" and "no judge" in result["reason"]


def test_judge_failing_calibration_is_not_measured(fake_llm, tmp_path):
    fake_llm.set_mode("ok", reply="Maybe, it depends.")
    result = run_judge(fake_llm.url, [], make_settings(tmp_path))
    assert result["status"] == "not measured" and result["calibration"]["parse_rate"] == 0.0


def test_judge_passing_calibration_is_measured(fake_llm, tmp_path):
    pairs = [json.loads(line) for line in (PROJECT_DIR / "evals" / "judge_calibration.jsonl").read_text().splitlines()]
    truth = {p["statement"]: p["label"] for p in pairs}

    def oracle(body):
        prompt = body["messages"][-1]["content"]
        return next((label for statement, label in truth.items() if statement in prompt), "yes")

    fake_llm.set_mode("ok", reply_fn=oracle)
    judge = Judge(fake_llm.url, make_settings(tmp_path))
    assert calibrate(judge)["passed"]
    row = {"question": "Who created Whisper?", "answer": {"text": "Whisper was created by OpenAI [1].", "refused": False,
           "citations": [{"number": 1}], "passages": {"1": "Whisper — creator: OpenAI — generates: Transcribed Text"}}}
    result = run_judge(fake_llm.url, [row], make_settings(tmp_path))
    assert result["status"] == "measured" and result["faithfulness"] == 1.0 and result["citation_recall"] == 1.0


@pytest.mark.slow
def test_answer_thresholds_name_metrics_the_eval_measures(index_copy, fake_llm, tmp_path):
    """`make eval` gates on evals/thresholds-answers.json: every metric named there must be measured
    by an eval with answers (a typo would otherwise fail every run as 'not measured')."""
    fake_llm.set_mode("ok", reply="A negative prompt tells the model what to avoid [1].")
    env = {**os.environ, "DATA_DIR": str(index_copy), "LLM_PROVIDER": "openai_compatible", "LLM_BASE_URL": fake_llm.url,
           "LLM_MODEL": "fake-model", "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "assistant", "eval", "--pipeline", "ours", "--out", str(tmp_path)],
                         cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    thresholds = json.loads((PROJECT_DIR / "evals" / "thresholds-answers.json").read_text())
    retrieval_only = json.loads((PROJECT_DIR / "evals" / "thresholds.json").read_text())
    assert set(retrieval_only["ours"]) <= set(thresholds["ours"])
    missing = [m for m in thresholds["ours"] if summary["ours"].get(m, {}).get("mean") is None]
    assert missing == []
    assert fake_llm.requests, "the eval with answers must call the LLM"
