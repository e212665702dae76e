"""The eval command: gold loading and splits, relevance rule, clean-answer scoring, conversations,
the LlamaIndex defaults' answers, reports, the CI gate and the judge gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.evaluation import gold as gold_module
from assistant.evaluation.gold import (
    GOLD_PATH,
    GoldSet,
    load_file,
    load_gold,
    load_split,
    ranking_labels,
    relevance_sets,
    resolve,
    stratified_sample,
)
from assistant.evaluation.judge import Judge, calibrate, parse_verdict, run_judge
from assistant.evaluation.metrics import CONTRADICTION, FALSE_REFUSAL, MISSED_REFUSAL, MISSING_FACT, OFF_TOPIC
from assistant.evaluation.readme import eval_block
from assistant.evaluation.report import write_report
from assistant.evaluation.run import (
    answer_scores,
    baseline_answers,
    check_thresholds,
    evaluate,
    gate,
    machine,
    measure,
    run_settings,
    summarize,
)
from assistant.knowledge import load_entries
from assistant.types import Answer, Citation, Passage
from tests.conftest import PROJECT_DIR, make_settings

VAE_QUOTE = "encode input data into a compressed, latent representation"
SINGLES = [
    {"id": "x001", "question": "What is a variational autoencoder?", "answerable": True,
     "relevant": [{"entry": "Variational Autoencoders (VAEs)", "quote": VAE_QUOTE}], "allowed": ["sdxl"],
     "answer_any": ["compressed", "latent representation"], "tags": ["definition", "glossary"],
     "reference": "A VAE encodes input data into a compressed, latent representation and decodes it back."},
    {"id": "x002", "question": "Who created Whisper?", "answerable": True,
     "relevant": [{"entry": "Whisper", "quote": "OpenAI"}], "allowed": ["Whisper AI"], "answer_any": ["OpenAI"],
     "wrong_any": ["Google"], "tags": ["relation", "model"], "reference": "Whisper was created by OpenAI."},
    {"id": "x003", "question": "What is the best pizza topping?", "answerable": False, "relevant": [], "allowed": [],
     "answer_any": [], "tags": ["out_of_scope", "unanswerable"]},
]
CONVERSATION = {"id": "xc01", "tags": ["conversation"], "turns": [
    {"question": "What does Stable Diffusion generate?", "followup": False, "answerable": True,
     "relevant": [{"entry": "Stable Diffusion", "quote": "Image"}], "allowed": [], "answer_any": ["Image"],
     "reference": "Stable Diffusion generates images."},
    {"question": "And who made it?", "followup": True, "subject": "Stable Diffusion", "answerable": True,
     "relevant": [{"entry": "Stable Diffusion", "quote": "Stability AI"}], "allowed": [], "answer_any": ["Stability AI"],
     "wrong_any": ["OpenAI"], "reference": "It was created by Stability AI."},
    {"question": "What is a negative prompt?", "followup": False, "answerable": True,
     "relevant": [{"entry": "Negative Prompt", "quote": "avoid or exclude certain characteristics"}], "allowed": [],
     "answer_any": ["avoid", "exclude"], "reference": "Input that tells the model what to avoid."},
    {"question": "What is the capital of France?", "followup": False, "answerable": False, "relevant": [], "allowed": [],
     "answer_any": [], "tags": ["out_of_scope"]},
]}


def write_gold(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def small_gold(tmp_path: Path, label: str = "test", prefix: str = "") -> GoldSet:
    """The small gold set above (ids prefixed, so two copies can be two splits) as one split."""
    rows = [{**r, "id": prefix + r["id"]} for r in [*SINGLES, CONVERSATION]]
    path = write_gold(tmp_path / f"{label}-{prefix}gold.jsonl", rows)
    singles, conversations = load_file(path, load_entries(), label)
    return GoldSet(label, {label: [str(path)]}, singles, conversations)


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


def test_resolve_follows_the_quote_to_the_entry_that_holds_it():
    """The article's "Latent Space" concept is followed by its Google search analogy, which the knowledge
    keeps as a section of its own: a gold quote from the analogy names that section, and the concept
    titled as the gold names it stays acceptable."""
    entries = load_entries()
    quote = "Google indexing/mapping websites = Generative model encoding data into latent space"
    assert resolve("Latent Space", entries, quote).id == "latent-space-google-search-analogy"
    assert resolve("Latent Space", entries, "a hidden source of inspiration").id == "latent-space"
    [question] = [q for q in load_gold() if q.id == "g071"]
    assert [i.entry.id for i in question.relevant] == ["latent-space-google-search-analogy"]
    assert [e.id for e in question.allowed] == ["latent-space"]


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
    assert check_thresholds(summary, {"split": "test", "note": "why", "ours": {"hit@1": {"min": 0.9}}}) == []


def _eval_cli(data_dir, out, *extra, llm_url="http://127.0.0.1:9/v1"):
    env = {**os.environ, "DATA_DIR": str(data_dir), "LLM_PROVIDER": "openai_compatible", "LLM_BASE_URL": llm_url,
           "LLM_MODEL": "fake-model", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "assistant", "eval", "--out", str(out), *extra],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_eval_cli_writes_report_and_gate_fails_on_raised_threshold(index_copy, tmp_path):
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"split": "test", "ours": {"hit@1": {"min": 1.01}}}))
    run = _eval_cli(index_copy, tmp_path / "report", "--no-answers", "--pipeline", "ours,llamaindex-default,bm25",
                    "--limit", "3", "--gate", "--thresholds", str(strict))  # --split test is the default
    assert run.returncode == 1, run.stdout + run.stderr
    assert "GATE FAILED: [test] ours hit@1" in run.stdout
    report = (tmp_path / "report" / "test" / "report.md").read_text()
    assert "| hit@1 |" in report and "llamaindex-default" in report and "bm25" in report
    assert "Tier 2 (judge LLM): **not measured**" in report and "gold-test.jsonl" in report
    for image in ("metrics.png", "ranks.png", "calibration.png"):
        assert (tmp_path / "report" / "test" / image).stat().st_size > 1000
    results = json.loads((tmp_path / "report" / "test" / "results.json").read_text())
    assert results["questions"] == 3 and results["conversations"] == 3
    assert len(results["rows"]) == 3 + results["turns"] and results["summary"]["ours"]["hit@1"]["ci95"] is not None
    assert results["summary"]["ours"]["condensation_accuracy"]["n"] == results["turns"] - 3  # turns after the first
    assert "| test split |" in (tmp_path / "report" / "report.md").read_text()


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
    extra = write_gold(tmp_path / "extra.jsonl", [*SINGLES, CONVERSATION])
    run = _eval_cli(index_copy, tmp_path / "out", "--pipeline", "ours", "--limit", "1", "--gold", str(extra),
                    "--baseline-answers", "0", "--gate", "--thresholds", str(PROJECT_DIR / "evals" / "thresholds-answers.json"),
                    llm_url=fake_llm.url)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    assert "not measured" not in run.stdout and "did not measure" not in run.stdout
    results = json.loads((tmp_path / "out" / "test" / "results.json").read_text())
    assert "extra.jsonl" in " ".join(results["files"])
    thresholds = json.loads((PROJECT_DIR / "evals" / "thresholds-answers.json").read_text())
    missing = [m for m in thresholds["ours"] if results["summary"]["ours"].get(m, {}).get("mean") is None]
    assert missing == []
    assert fake_llm.requests, "the eval with answers must call the LLM"


# --- gold files and splits ---------------------------------------------------------------------------


def test_resolve_prefers_an_exact_id():
    entries = load_entries()
    assert resolve("beit", entries).id == "beit" and resolve("beit-2", entries).id == "beit-2"
    with pytest.raises(ValueError):
        resolve("BEiT", entries)  # the title alone is ambiguous without a quote


def test_load_file_reads_singles_and_conversations(tmp_path):
    g = small_gold(tmp_path)
    assert [q.id for q in g.singles] == ["x001", "x002", "x003"]
    assert [q.id for q in g.questions][3:] == ["xc01.1", "xc01.2", "xc01.3", "xc01.4"]
    vae, whisper, pizza = g.singles
    assert vae.citable == {"variational-autoencoders-vaes", "sdxl"} and vae.primary == "definition"
    assert whisper.wrong_any == ["Google"] and {e.id for e in whisper.allowed} == {"whisper-ai"}
    assert not pizza.answerable and pizza.citable == set() and pizza.followup is None and pizza.turn == 0
    first, followup, switch, oos = g.conversations[0].turns
    assert (first.turn, first.followup, first.subject, first.primary) == (1, False, None, "conversation")
    assert followup.followup and followup.subject.id == "stable-diffusion" and followup.primary == "followup"
    assert followup.conversation == "xc01" and followup.split == "test" and followup.source.endswith("gold.jsonl")
    assert switch.primary == "conversation" and oos.primary == "out_of_scope" and not oos.answerable


def test_load_split_adds_extra_files_and_rejects_repeated_ids(tmp_path):
    extra = write_gold(tmp_path / "extra.jsonl", SINGLES)
    dev = load_split("dev", [extra])
    assert dev.labels == ["dev"] and dev.files["dev"][0] == "evals/gold.jsonl" and dev.files["dev"][-1] == str(extra)
    assert [q.id for q in dev.singles][-3:] == ["x001", "x002", "x003"]
    every = load_split("all", [extra])
    assert every.labels == ["dev", "test", "extra"] and {q.split for q in every.singles if q.id.startswith("x")} == {"extra"}
    clash = write_gold(tmp_path / "clash.jsonl", [{**SINGLES[0], "id": "g001"}])
    with pytest.raises(ValueError, match="g001"):
        load_split("dev", [clash])
    with pytest.raises(ValueError, match="unknown split"):
        load_split("train")
    with pytest.raises(FileNotFoundError):
        load_split("test", [tmp_path / "absent.jsonl"])
    broken = write_gold(tmp_path / "broken.jsonl", [{**SINGLES[0], "relevant": [{"entry": "No Such Entry", "quote": "x"}]}])
    with pytest.raises(ValueError, match="broken.jsonl line 1"):
        load_split("test", [broken])


def test_an_absent_optional_dev_file_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setitem(gold_module.SPLIT_FILES, "dev", ((GOLD_PATH, True), (tmp_path / "absent.jsonl", False)))
    dev = load_split("dev")
    assert dev.files == {"dev": ["evals/gold.jsonl"]} and len(dev.singles) == len(load_gold())


def test_limit_takes_the_first_questions_and_conversations_of_each_file(tmp_path):
    extra = write_gold(tmp_path / "extra.jsonl", [*SINGLES, CONVERSATION])
    g = load_split("test", [extra]).limited(2)
    assert [q.id for q in g.singles][-2:] == ["x001", "x002"] and len(g.singles) == 4
    assert [c.id for c in g.conversations][-1] == "xc01" and len(g.conversations) == 3
    assert g.limited(0) is g


def test_stratified_sample_spreads_over_categories():
    singles = load_split("dev").singles
    sample = stratified_sample(singles, 10)
    assert len(sample) == 10 and len({q.primary for q in sample}) == 10  # dev has more than 10 categories
    assert sample == stratified_sample(singles, 10)  # deterministic
    assert [q.id for q in sample] == [q.id for q in singles if q in sample]  # in file order
    assert stratified_sample(singles[:3], 50) == singles[:3] and stratified_sample(singles, 0) == []


# --- scoring one answer --------------------------------------------------------------------------------


def _answer(text: str, cited: list[tuple[str, str]], refused: bool = False) -> Answer:
    """An Answer citing (entry id, quote) pairs, each from its own passage holding the quote."""
    passages = [Passage(entry_id=e, title=e, kind="model", text=f"{e}: {quote} and more", score=1.0, source="s")
                for e, quote in cited]
    citations = [Citation(number=i, entry_id=e, title=e, quote=quote, passage_text=p.text, source="s")
                 for i, ((e, quote), p) in enumerate(zip(cited, passages, strict=True), 1)]
    return Answer(text=text, citations=citations, refused=refused, passages=passages, mode="generated")


def test_answer_scores_give_the_clean_verdict_and_its_reasons(tmp_path):
    vae, whisper, pizza = small_gold(tmp_path).singles
    clean = answer_scores(_answer("Whisper was created by OpenAI [1].", [("whisper", "OpenAI")]), whisper, None)
    assert clean["clean"] == 1.0 and clean["failures"] == [] and clean["first_sentence_answer"] == 1.0
    assert clean["citation_validity"] == 1.0 and clean["quote_verified"] == 1.0 and clean["coverage"] == 1.0
    allowed = answer_scores(_answer("OpenAI made it [1][2].", [("whisper", "OpenAI"), ("whisper-ai", "OpenAI")]), whisper, None)
    assert allowed["clean"] == 1.0 and allowed["off_topic_citation_rate"] == 0.0
    off = answer_scores(_answer("OpenAI made it [1]. AlphaFold too [2].", [("whisper", "OpenAI"), ("alphafold", "DeepMind")]),
                        whisper, None)
    assert off["failures"] == [OFF_TOPIC] and off["off_topic_citation_rate"] == 0.5
    wrong = answer_scores(_answer("Whisper was created by Google [1].", [("whisper", "OpenAI")]), whisper, None)
    assert wrong["failures"] == [MISSING_FACT, CONTRADICTION] and wrong["contradiction_detail"] == "says 'Google'"
    late = answer_scores(_answer("The table lists it. OpenAI made it [1].", [("whisper", "OpenAI")]), whisper, None)
    assert late["clean"] == 1.0 and late["first_sentence_answer"] == 0.0
    unverified = answer_scores(_answer("A VAE compresses data [1].", [("variational-autoencoders-vaes", "compressed latent")]),
                               vae, None)
    unverified_answer = _answer("A VAE compresses data [1] [7].", [("variational-autoencoders-vaes", "x")])
    unverified_answer.citations[0].quote = "not in the passage"
    scores = answer_scores(unverified_answer, vae, None)
    assert unverified["quote_verified"] == 1.0 and scores["quote_verified"] == 0.0 and scores["citation_validity"] == 0.5
    assert answer_scores(_answer("I can't answer that.", [], refused=True), whisper, None)["failures"] == [FALSE_REFUSAL]
    assert answer_scores(_answer("Pepperoni [1].", [("whisper", "OpenAI")]), pizza, None)["failures"] == [MISSED_REFUSAL]
    assert answer_scores(_answer("I can't answer that.", [], refused=True), pizza, None)["clean"] == 1.0


# --- runs over the real assistant ---------------------------------------------------------------------


def test_conversations_run_turn_by_turn_with_the_systems_own_answers(assistant, tmp_path):
    g = small_gold(tmp_path)
    rows, nodes = evaluate(assistant, g, ["ours", "bm25"], answers=True, progress=False)
    assert [r["id"] for r in rows] == [q.id for q in g.questions]
    turns = rows[3:]
    assert "history" not in rows[0] and turns[0]["history"] == []
    assert turns[1]["history"] == [["user", "What does Stable Diffusion generate?"], ["assistant", turns[0]["answer"]["text"]]]
    assert len(turns[3]["history"]) == 6 and turns[3]["history"][-1] == ["assistant", turns[2]["answer"]["text"]]
    assert "condensation" not in turns[0] and [t["condensation"]["followup"] for t in turns[1:]] == [True, False, False]
    assert all(r["query"] in nodes for r in rows) and all("bm25" in r for r in rows)
    summary = summarize(rows, ["ours", "bm25"], answers=True)["ours"]
    for key in ("clean_rate", "answer_refusal_rate", "answer_false_refusal_rate", "answer_refusal_rate_out_of_scope",
                "condensation_accuracy", "condensation_accuracy_followup", "condensation_accuracy_switch",
                "first_sentence_answer", "contradiction_rate", "off_topic_citation_rate", "ttft_p50_s", "ttft_p95_s",
                "citation_validity", "alias_hit"):
        assert summary[key]["mean"] is not None, key
    assert summary["condensation_accuracy"]["n"] == 3 and summary["clean_rate"]["n"] == 7
    assert summary["answer_refusal_rate"]["n"] == 2 and summary["ttft_p95_s"]["mean"] >= summary["ttft_p50_s"]["mean"]


def test_without_answers_the_gold_references_stand_in_for_the_history(assistant, tmp_path):
    g = small_gold(tmp_path)
    rows, _ = evaluate(assistant, g, ["ours"], answers=False, progress=False)
    turns = rows[3:]
    assert turns[1]["history"] == [["user", "What does Stable Diffusion generate?"],
                                   ["assistant", "Stable Diffusion generates images."]]
    assert all("answer" not in r for r in rows)
    summary = summarize(rows, ["ours"], answers=False)["ours"]
    assert summary["condensation_accuracy"]["n"] == 3 and "clean_rate" not in summary


def test_llamaindex_default_answers_are_scored_like_ours_on_the_same_sample(assistant, shared_fake_llm, tmp_path):
    def reply(body):
        question = body["messages"][-1]["content"]
        return "I don't know." if "pizza" in question else "Whisper was created by OpenAI, it says."

    g = small_gold(tmp_path)
    rows, _ = evaluate(assistant, g, ["ours"], answers=True, progress=False)
    shared_fake_llm.set_mode("ok", reply_fn=reply)
    shared_fake_llm.reset()
    shared_fake_llm.set_mode("ok", reply_fn=reply)
    result = baseline_answers(assistant, g.singles, rows, 3, progress=False)
    by_id = {r["id"]: r for r in result["rows"]}
    assert result["n"] == 3 and set(by_id) == {"x001", "x002", "x003"}
    assert by_id["x003"]["refused"] and by_id["x003"]["clean"] == 1.0
    assert by_id["x002"]["alias_hit"] == 1.0 and by_id["x002"]["clean"] == 1.0
    assert by_id["x001"]["failures"] == [MISSING_FACT]
    assert all(0 < r["ttft_s"] <= r["total_s"] for r in result["rows"])
    assert set(result["summary"]) == {"ours", "llamaindex-default"}
    assert result["summary"]["llamaindex-default"]["clean_rate"]["mean"] == pytest.approx(2 / 3)
    assert result["summary"]["ours"]["clean_rate"]["n"] == 3  # ours on the same three questions
    prompts = [json.dumps(r) for r in shared_fake_llm.requests]
    assert any("Context information is below" in p for p in prompts), "the defaults' own QA prompt"


def test_reports_per_split_side_by_side_and_the_readme_block(assistant, shared_fake_llm, tmp_path):
    dev, test = small_gold(tmp_path, "dev", "d"), small_gold(tmp_path, "test", "t")
    both = GoldSet("all", {**dev.files, **test.files}, dev.singles + test.singles, dev.conversations + test.conversations)
    sections = measure(assistant, both, ["ours", "llamaindex-default"], answers=True, baseline_n=2, progress=False)
    assert list(sections) == ["dev", "test"] and sections["test"]["turns"] == 4
    assert sections["dev"]["baseline_answers"]["n"] == 2 and sections["dev"]["judge"]["status"] == "not measured"
    result = {"settings": run_settings(assistant.settings, "python -m assistant eval --split all", True, "all"),
              "splits": sections}
    out = tmp_path / "results"
    written = write_report(result, out)
    assert written == [out / "dev" / "report.md", out / "test" / "report.md", out / "report.md"]
    for image in ("metrics.png", "ranks.png", "calibration.png", "clean_by_category.png", "failures.png"):
        assert (out / "test" / image).stat().st_size > 1000, image
    report = (out / "test" / "report.md").read_text()
    assert machine()["cpu"] in report and result["settings"]["date"] in report
    assert "## Failure classes" in report and "| false refusal |" in report and "| missed refusal |" in report
    assert "## Answers: ours vs llamaindex-default on the same sample" in report and "vacuously" in report
    assert "| txc01.2 | And who made it? |" in report and "| clean_rate |" in report
    assert json.loads((out / "dev" / "results.json").read_text())["rows"][0]["id"] == "dx001"
    index = (out / "report.md").read_text()
    assert "| dev split | test split |" in index
    block = eval_block(out)
    assert "| dev split | test split |" in block and "**dev**" in block and "**test**" in block
    assert "LLM `openai_compatible:fake-model`" in block and "`python -m assistant eval --split all`" in block
    assert "| answers on a stratified sample | dev: ours (n=2) | dev: llamaindex-default (n=2) |" in block
    assert "not measured yet" not in block
    assert "not measured yet: `python -m assistant eval --split test`" in eval_block(_only(out, "dev", tmp_path))


def _only(out: Path, label: str, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / f"only-{label}"
    shutil.copytree(out / label, target / label)
    return target


def test_measure_without_a_sample_skips_the_defaults_answers(assistant, tmp_path):
    sections = measure(assistant, small_gold(tmp_path), ["ours"], answers=True, baseline_n=0, progress=False)
    assert "baseline_answers" not in sections["test"] and sections["test"]["by_category"]["followup"]["n"] == 1


# --- thresholds and the gate ----------------------------------------------------------------------------


def test_gate_applies_thresholds_to_their_split():
    summary = {"ours": {"clean_rate": {"mean": 0.95}}}
    sections = {"dev": {"summary": {"ours": {"clean_rate": {"mean": 0.5}}}}, "test": {"summary": summary}}
    for_test = {"split": "test", "note": "targets", "ours": {"clean_rate": {"min": 0.9}}}
    assert gate(sections, for_test) == []  # only the test split is gated; dev's 0.5 does not count
    assert gate({"dev": sections["dev"]}, for_test) == [
        "the thresholds are for the test split, which this run did not measure (run with --split test)"]
    anywhere = {"ours": {"clean_rate": {"min": 0.9}}}
    assert gate(sections, anywhere) == ["[dev] ours clean_rate = 0.500 is below the threshold 0.9"]


def test_threshold_files_hold_the_targets():
    answers = json.loads((PROJECT_DIR / "evals" / "thresholds-answers.json").read_text())
    assert answers["split"] == "test"
    assert answers["ours"] == {  # the answer-quality issue's targets: not to be lowered to what the system achieves
        "clean_rate": {"min": 0.90}, "answer_false_refusal_rate": {"max": 0.03}, "answer_refusal_rate": {"min": 0.90},
        "condensation_accuracy": {"min": 0.95}, "citation_validity": {"min": 1.0}, "quote_verified": {"min": 1.0},
        "ttft_p95_s": {"max": 1.2}}
    retrieval = json.loads((PROJECT_DIR / "evals" / "thresholds.json").read_text())
    assert retrieval["split"] == "test"
    assert set(retrieval["ours"]) == {"hit@1", "mrr", "recall@5", "context_chars", "refusal_rate", "false_refusal_rate",
                                      "condensation_accuracy"}


def test_eval_command_line():
    from assistant.__main__ import parser

    args = parser().parse_args(["eval"])
    assert (args.split, args.gold, args.baseline_answers, args.limit) == ("test", [], 20, 0)
    args = parser().parse_args(["eval", "--split", "dev", "--gold", "a.jsonl", "--gold", "b.jsonl", "--baseline-answers", "0"])
    assert (args.split, args.gold, args.baseline_answers) == ("dev", ["a.jsonl", "b.jsonl"], 0)
    with pytest.raises(SystemExit):
        parser().parse_args(["eval", "--split", "train"])
