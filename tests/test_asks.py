"""assistant.asks: the learned reading of whether a question about model rows asks only for their fields,
and what the intent, the gate and the answer do with it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from assistant.asks import WEIGHTS_PATH, FieldAsks, masked
from assistant.evaluation.asks import threshold_for
from assistant.intent import Kind, analyze

# A row question in a user's own words that no wording rule reads as asking for a creator or an output.
GROUPED = "If I grouped the table's rows by the organisation that built them, which group would LangChain end up in?"


class FixedEmbedding:
    """An embedding model that embeds every text as one vector."""

    def __init__(self, vector: list[float]):
        self.vector, self.seen = vector, []

    def get_query_embedding(self, text: str) -> list[float]:
        self.seen.append(text)
        return self.vector


class Always:
    """An `asks` that reads every question one way, and records what it was asked."""

    def __init__(self, verdict: bool):
        self.verdict, self.asked = verdict, []

    def asks_fields(self, question, names) -> bool:
        self.asked.append(question)
        return self.verdict


@pytest.fixture(scope="module")
def opened(indexed_dir, embed_model):
    from tests.conftest import make_settings, open_assistant

    a = open_assistant(make_settings(indexed_dir), embed_model)
    yield a
    a.close()


def test_every_entry_name_is_masked_longest_first(opened):
    names = opened._require_index().retriever.names
    assert masked("Who built Whisper AI, and is BLOOM a text model?", names) == "who built X, and is X a text model?"
    assert masked("and whose model is that (about Craiyon (DALL·E Mini))?", names) == "and whose model is that (about X)?"


def test_the_probability_is_a_logistic_regression_on_the_unit_embedding():
    asks = FieldAsks(coef=(1.0, 0.0), intercept=0.5, threshold=0.7, embed_model=FixedEmbedding([3.0, 4.0]))
    p = asks.probability("who made it?", names=_NoNames())
    assert p == pytest.approx(1 / (1 + math.exp(-(0.5 + 0.6))))
    assert asks.asks_fields("who made it?", _NoNames()) is (p >= 0.7)
    # an embedding of another size than the weights': no opinion, so the rules alone decide
    other = FieldAsks(coef=(1.0, 0.0, 0.0), intercept=9.0, threshold=0.5, embed_model=FixedEmbedding([3.0, 4.0]))
    assert other.probability("who made it?", _NoNames()) == 0.0


class _NoNames:
    def matches(self, text: str) -> list[str]:
        return []


def test_weights_of_another_embedding_model_or_none_at_all_are_not_used(tmp_path):
    saved = {"embed_model": "all-MiniLM-L6-v2", "coef": [0.1, 0.2], "intercept": 0.0, "threshold": 0.9}
    path = tmp_path / "asks.json"
    path.write_text(json.dumps(saved), encoding="utf-8")
    embedding = FixedEmbedding([1.0, 0.0])
    assert FieldAsks.load(embedding, "all-MiniLM-L6-v2", path) is not None
    assert FieldAsks.load(embedding, "bge-small-en-v1.5", path) is None
    assert FieldAsks.load(embedding, "all-MiniLM-L6-v2", tmp_path / "missing.json") is None
    path.write_text("{not json", encoding="utf-8")
    assert FieldAsks.load(embedding, "all-MiniLM-L6-v2", path) is None


def test_the_threshold_lets_through_at_most_the_allowed_share_of_questions_asking_for_more():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0.5, 1.0, 300), rng.uniform(0.0, 0.95, 200)])
    y = np.array([1] * 300 + [0] * 200)
    for share in (0.0, 0.01, 0.05):
        t = threshold_for(p, y, share)
        assert (p[y == 0] >= t).mean() <= share
        assert (p[y == 0] >= t - 0.01).mean() > share or t <= 0.01  # the lowest such threshold, not any


def test_the_shipped_weights_load_for_the_bundled_embedding_model(embed_model):
    saved = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    asks = FieldAsks.load(embed_model, "all-MiniLM-L6-v2")
    assert asks is not None and len(asks.coef) == 384 and 0.5 < asks.threshold < 1.0
    assert saved["held_out"]["more_passed"] <= 0.02 and saved["held_out"]["fields_passed"] >= 0.5


@pytest.mark.parametrize(("question", "fields"), [
    ("Which outfit is BLOOM credited to, going by the table?", True),
    ("Is Tacotron in the table something that makes sound or pictures?", True),
    ("How many parameters does Megatron-LM have?", False),
    ("What licence is BLOOM released under?", False),
    ("Who is the chief executive of the company behind Midjourney?", False),
    ("Which GPUs was AlphaFold trained on?", False),
])
def test_the_shipped_weights_tell_a_rows_fields_from_what_the_table_does_not_hold(opened, question, fields):
    assert opened.asks.asks_fields(question, opened._require_index().retriever.names) is fields


def test_a_row_question_the_rules_do_not_read_is_answered_from_the_row_when_it_asks_for_the_fields(opened):
    pipeline = opened._require_index()
    yes, no = Always(True), Always(False)
    read = analyze(GROUPED, pipeline.retriever.names, pipeline.table, yes)
    assert read.kind is Kind.DEFINITION and read.asks_fields and read.subjects == ("langchain",)
    assert not analyze(GROUPED, pipeline.retriever.names, pipeline.table, no).asks_fields
    assert not analyze(GROUPED, pipeline.retriever.names, pipeline.table).asks_fields  # no classifier: rules alone
    # only questions naming model rows and nothing else are read
    for question in ("What is a GAN?", "How does LoRA relate to fine-tuning?", "Which models did NVIDIA make?"):
        analyze(question, pipeline.retriever.names, pipeline.table, yes)
    assert yes.asked == [GROUPED]


def test_the_gate_lets_a_row_question_through_only_when_it_reads_as_asking_for_the_fields(composing, fake):
    answer = composing.ask(GROUPED)
    assert not answer.refused and answer.mode == "structured"
    assert "LangChain" in answer.text and "no creator" in answer.text
    assert {c.entry_id for c in answer.citations} == {"langchain"} and fake.attempts == 0
    composing.asks = None  # the rules alone: refused as asking for more than the row holds
    assert composing.ask(GROUPED).refused


def test_a_row_question_asking_for_what_the_table_does_not_hold_is_still_refused(composing):
    for question in ("How many GPUs did NVIDIA use to train Megatron-LM?", "Who owns the copyright to images made with "
                     "Midjourney?", "What licence is BLOOM released under?"):
        assert composing.ask(question).refused, question



def test_a_word_the_material_never_uses_does_not_refuse_a_question_read_as_asking_for_the_fields(composing):
    """ "something" is no word of the material; in a question that asks what a row generates it is no topic either."""
    question = "Does the table have Tacotron down as something that makes sound?"
    answer = composing.ask(question)
    assert not answer.refused and {c.entry_id for c in answer.citations} == {"tacotron"}
    composing.asks = None
    assert composing.ask(question).refused
