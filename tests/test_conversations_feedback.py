"""Feedback closes the loop: `python -m assistant feedback export --gold FILE` writes thumbs-down answers
as candidate gold lines that the gold loader accepts once a person fills in relevance, and
`feedback stats` counts votes by reason and answer mode per day."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.conversations import ConversationStore
from assistant.conversations.feedback import candidates, export_gold, stats
from assistant.evaluation.gold import load_file, load_split
from assistant.knowledge import load_entries
from tests.conftest import KNOWLEDGE, PROJECT_DIR, make_settings
from tests.test_conversations import an_answer

QUESTION = "What does a negative prompt do in image generation?"
QUOTE = "instruct the AI model to avoid or exclude certain characteristics or elements from the generated output"


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATA_DIR=str(data_dir), KNOWLEDGE_DIR=str(KNOWLEDGE), PYTHONPATH=str(PROJECT_DIR))
    return subprocess.run([sys.executable, "-m", "assistant", "feedback", *args], cwd=data_dir.parent, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def voted(tmp_path):
    """A data dir whose conversation database holds a follow-up chat with one 👍 and two 👎."""
    data = tmp_path / "data"
    with ConversationStore.from_settings(make_settings(data)) as store:
        chat = store.create("alice")
        _, first = store.append_exchange("alice", chat.id, "What is a VAE?", an_answer())
        _, second = store.append_exchange("alice", chat.id, QUESTION, an_answer(
            "It makes the image sharper [1].", query="negative prompt image generation"))
        other = store.create("bob")
        _, refused = store.append_exchange("bob", other.id, "Who won the 2010 World Cup?", an_answer(
            "Spain won it.", mode="extractive", citations=[]))
        store.add_feedback("alice", first.id, "up")
        store.add_feedback("alice", second.id, "down", "wrong fact", "It avoids things, it does not sharpen.\u2028Really.")
        store.add_feedback("bob", refused.id, "down", "should have refused")
    return data, second.id, refused.id


def test_export_writes_candidate_gold_lines(voted):
    data, answer_id, refused_id = voted
    gold = data.parent / "feedback-gold.jsonl"
    result = cli(data, "export", "--gold", str(gold))
    assert result.returncode == 0, result.stderr
    assert "2 new candidate gold line(s) added" in result.stdout and "eval --gold" in result.stdout
    raw = gold.read_text(encoding="utf-8")
    assert "\u2028" not in raw  # one JSON document per line, whatever splits lines
    lines = [json.loads(line) for line in raw.splitlines()]
    first, second = lines
    assert first["id"] == "fb-" + answer_id.replace("-", "")[:12]
    assert (first["question"], first["answerable"], first["relevant"], first["answer_any"], first["tags"]) == (
        QUESTION, True, [], [], ["feedback"])
    assert first["history"] == [["user", "What is a VAE?"],
                                ["assistant", "A VAE encodes input data into a compressed, latent representation [1]."]]
    assert (first["answer"], first["reason"], first["comment"]) == (
        "It makes the image sharper [1].", "wrong_fact", "It avoids things, it does not sharpen.\nReally.")
    assert first["citations"] == [{"number": 1, "entry_id": "vae", "title": "Variational Autoencoders (VAEs)",
                                   "section": "Glossary", "quote": "compressed, latent representation"}]
    assert (first["mode"], first["query"]) == ("generated", "negative prompt image generation")
    assert first["feedback"]["message"] == answer_id
    assert (second["question"], second["answerable"], second["reason"]) == ("Who won the 2010 World Cup?", False, "should_refuse")
    assert "history" not in second

    # A person fills in the first line; a second export keeps the edit and adds nothing twice.
    first.update(relevant=[{"entry": "Negative Prompt", "quote": QUOTE}], answer_any=["avoid", "exclude"],
                 reference="A negative prompt tells the model what to avoid or exclude from the output.")
    gold.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in (first, second)) + "\n", encoding="utf-8")
    again = cli(data, "export", "--gold", str(gold))
    assert again.returncode == 0 and "0 new candidate gold line(s) added" in again.stdout and "(2 already there)" in again.stdout
    assert json.loads(gold.read_text(encoding="utf-8").splitlines()[0])["relevant"][0]["entry"] == "Negative Prompt"


def test_a_filled_in_candidate_is_accepted_by_the_gold_loader(voted, tmp_path):
    data, _, _ = voted
    with ConversationStore.from_settings(make_settings(data)) as store:
        lines = candidates(store)
    lines[0].update(relevant=[{"entry": "Negative Prompt", "quote": QUOTE}], answer_any=["avoid", "exclude"],
                    reference="A negative prompt tells the model what to avoid or exclude from the output.")
    gold = tmp_path / "filled.jsonl"
    gold.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    singles, conversations = load_file(gold, load_entries(KNOWLEDGE))
    assert conversations == []
    filled, refusal = singles
    assert (filled.question, filled.answerable, filled.tags, filled.primary) == (QUESTION, True, ["feedback"], "feedback")
    assert filled.relevant[0].entry.title == "Negative Prompt" and filled.relevant[0].quote == QUOTE
    assert filled.history[0] == ("user", "What is a VAE?")
    assert (refusal.answerable, refusal.relevant) == (False, [])
    split = load_split("dev", extra=[gold], knowledge_dir=KNOWLEDGE)  # what `eval --gold FILE` reads: ids do not clash
    assert {q.id for q in split.singles} >= {filled.id, refusal.id}


def test_stats_count_votes_by_reason_and_mode_per_day(voted):
    data, _, _ = voted
    with ConversationStore.from_settings(make_settings(data)) as store:
        report = stats(store)
    assert report["totals"] == {"up": 1, "down": 2, "reasons": {"wrong_fact": 1, "should_refuse": 1}}
    rows = {(r["mode"], r["up"], r["down"], json.dumps(r["reasons"])) for r in report["rows"]}
    assert rows == {("generated", 1, 1, '{"wrong_fact": 1}'), ("extractive", 0, 1, '{"should_refuse": 1}')}
    assert len({r["day"] for r in report["rows"]}) == 1
    as_json = cli(data, "stats", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["totals"] == report["totals"]
    table = cli(data, "stats")
    assert table.returncode == 0, table.stderr
    for word in ("Feedback per day and answer mode", "generated", "extractive", "wrong fact", "should have refused", "total"):
        assert word in table.stdout


def test_feedback_cli_before_any_chat_was_stored(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    assert "No feedback yet" in cli(data, "stats").stdout
    result = cli(data, "export", "--gold", str(tmp_path / "gold.jsonl"))
    assert result.returncode == 0 and "No feedback yet" in result.stdout
    assert not (data / "conversations.db").exists() and not (tmp_path / "gold.jsonl").exists()
    with ConversationStore.from_settings(make_settings(data)) as store:
        assert export_gold(store, tmp_path / "gold.jsonl") == (0, 0)
        assert stats(store)["rows"] == []
