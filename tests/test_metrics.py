"""Tests for assistant.evaluation.metrics against hand-computed values."""

import math

import pytest

from assistant.evaluation import metrics
from assistant.evaluation.metrics import (
    CONTRADICTION,
    FALSE_REFUSAL,
    MISSED_REFUSAL,
    MISSING_FACT,
    OFF_TOPIC,
    alias_hit,
    answer_failures,
    asks_about_maker,
    bootstrap,
    bootstrap_ci,
    citation_coverage,
    citation_markers,
    citation_validity,
    condensation_correct,
    contradiction,
    exact_match,
    first_relevant_rank,
    first_sentence_answer,
    gold_citation_precision_recall,
    hit_at_k,
    looks_like_refusal,
    mean_ignoring_none,
    mentions,
    ndcg_at_k,
    negates_quote,
    normalize_answer,
    off_topic_citations,
    percentile,
    pooled_rate,
    precision_at_k,
    quote_in_passage,
    recall_at_k,
    reciprocal_rank,
    refusal_rates,
    sentences,
    strip_markers,
    token_f1,
)

# Hand-computed log values used below:
#   log2(2) = 1, log2(3) = 1.5849625, log2(4) = 2, log2(5) = 2.3219281
#   1/log2(3) = 0.6309298, 1/log2(4) = 0.5, 1/log2(5) = 0.4306766, 1/log2(6) = 0.3868528

# ----------------------------------------------------------------- retrieval

ABCD = ["a", "b", "c", "d"]


def test_basic_ranking():
    rel = {"b", "d"}
    assert hit_at_k(ABCD, rel, 1) == 0.0  # a is not relevant
    assert hit_at_k(ABCD, rel, 2) == 1.0  # b at rank 2
    assert reciprocal_rank(ABCD, rel) == 0.5  # first relevant at rank 2 -> 1/2
    assert first_relevant_rank(ABCD, rel) == 2
    assert precision_at_k(ABCD, rel, 2) == 0.5  # {b} / 2
    assert precision_at_k(ABCD, rel, 4) == 0.5  # {b, d} / 4
    assert recall_at_k(ABCD, rel, 2) == 0.5  # {b} / |{b, d}|
    assert recall_at_k(ABCD, rel, 4) == 1.0  # {b, d} / |{b, d}|
    # DCG@4  = 1/log2(2+1) + 1/log2(4+1) = 0.6309298 + 0.4306766 = 1.0616064
    # IDCG@4 = 1/log2(1+1) + 1/log2(2+1) = 1 + 0.6309298        = 1.6309298
    # nDCG@4 = 1.0616064 / 1.6309298 = 0.6509209
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(ABCD, rel, 4) == pytest.approx(0.6509209, abs=1e-6)
    assert ndcg_at_k(ABCD, rel, 4) == pytest.approx(expected)


def test_perfect_ranking_scores_one():
    rel = {"a", "b"}
    assert ndcg_at_k(ABCD, rel, 10) == pytest.approx(1.0)
    assert reciprocal_rank(ABCD, rel) == 1.0
    assert recall_at_k(ABCD, rel, 2) == 1.0


def test_empty_retrieval():
    rel = {"a"}
    assert hit_at_k([], rel, 5) == 0.0
    assert reciprocal_rank([], rel) == 0.0
    assert reciprocal_rank([], rel, 5) == 0.0
    assert recall_at_k([], rel, 5) == 0.0
    assert precision_at_k([], rel, 5) == 0.0
    assert ndcg_at_k([], rel) == 0.0
    assert first_relevant_rank([], rel) is None


def test_duplicates_are_removed_keeping_first_occurrence():
    retrieved = ["a", "a", "b", "a", "c"]  # de-duplicated: [a, b, c]
    rel = {"b"}
    assert first_relevant_rank(retrieved, rel) == 2  # not 3
    assert hit_at_k(retrieved, rel, 2) == 1.0  # without de-dup top-2 would be [a, a]
    assert reciprocal_rank(retrieved, rel) == 0.5
    assert precision_at_k(retrieved, rel, 3) == pytest.approx(1 / 3)  # {b} / 3
    # nDCG@2 = (1/log2(3)) / 1 = 0.6309298  (IDCG over min(1, 2) = 1 slot)
    assert ndcg_at_k(retrieved, rel, 2) == pytest.approx(0.6309298, abs=1e-6)
    # A relevant id repeated must not be counted twice.
    assert precision_at_k(["b", "b", "b"], rel, 3) == pytest.approx(1 / 3)
    assert ndcg_at_k(["b", "b"], rel, 2) == pytest.approx(1.0)


def test_relevant_beyond_k():
    rel = {"d"}  # rank 4
    assert hit_at_k(ABCD, rel, 3) == 0.0
    assert reciprocal_rank(ABCD, rel, 3) == 0.0
    assert reciprocal_rank(ABCD, rel) == 0.25  # no cut-off: 1/4
    assert reciprocal_rank(ABCD, rel, 4) == 0.25
    assert recall_at_k(ABCD, rel, 3) == 0.0
    assert precision_at_k(ABCD, rel, 3) == 0.0
    assert ndcg_at_k(ABCD, rel, 3) == 0.0
    assert first_relevant_rank(ABCD, rel) == 4


def test_k_larger_than_list():
    retrieved, rel = ["a", "b"], {"b"}
    assert hit_at_k(retrieved, rel, 10) == 1.0
    assert recall_at_k(retrieved, rel, 10) == 1.0
    assert precision_at_k(retrieved, rel, 10) == pytest.approx(0.1)  # 1 / k, not 1 / 2
    # nDCG@10 = (1/log2(3)) / (1/log2(2)) = 0.6309298
    assert ndcg_at_k(retrieved, rel, 10) == pytest.approx(0.6309298, abs=1e-6)


def test_ndcg_ideal_uses_min_relevant_k():
    # |relevant| = 5 > k = 3, all 3 retrieved are relevant:
    # DCG@3 = 1 + 1/log2(3) + 1/log2(4) = 2.1309298 = IDCG over min(5, 3) = 3 slots -> 1.0
    # (an IDCG over all 5 would add 1/log2(5) + 1/log2(6) and give 0.718 instead)
    assert ndcg_at_k(["a", "b", "c"], {"a", "b", "c", "d", "e"}, 3) == pytest.approx(1.0)
    # |relevant| = 4 > k = 2, retrieved [x, a]:
    # DCG@2 = 1/log2(3) = 0.6309298; IDCG@2 = 1 + 1/log2(3) = 1.6309298
    # nDCG@2 = 0.6309298 / 1.6309298 = 0.3868528
    assert ndcg_at_k(["x", "a", "b"], {"a", "b", "c", "d"}, 2) == pytest.approx(0.3868528, abs=1e-6)


def test_default_k_is_ten():
    retrieved = [f"n{i}" for i in range(10)] + ["hit"]  # relevant at rank 11
    assert ndcg_at_k(retrieved, {"hit"}) == 0.0
    assert ndcg_at_k(retrieved, {"hit"}, 11) == pytest.approx(1 / math.log2(12))


@pytest.mark.parametrize(
    "call",
    [
        lambda r: hit_at_k(ABCD, r, 1),
        lambda r: reciprocal_rank(ABCD, r),
        lambda r: recall_at_k(ABCD, r, 1),
        lambda r: precision_at_k(ABCD, r, 1),
        lambda r: ndcg_at_k(ABCD, r),
        lambda r: first_relevant_rank(ABCD, r),
        lambda r: ndcg_at_k([], r),  # empty relevant wins over empty retrieval
    ],
)
def test_empty_relevant_raises(call):
    with pytest.raises(ValueError):
        call(set())


def test_non_positive_k_raises():
    with pytest.raises(ValueError):
        precision_at_k(ABCD, {"a"}, 0)
    with pytest.raises(ValueError):
        ndcg_at_k(ABCD, {"a"}, -1)


# ----------------------------------------------------------------- answers


def test_normalize_answer():
    assert normalize_answer("The Cat.") == "cat"
    assert normalize_answer("  An apple a   day, keeps!  ") == "apple day keeps"
    assert normalize_answer("Theory") == "theory"  # article removal is whole-word only
    # typographic quotes and dashes are punctuation too (SQuAD's list is ASCII only)
    assert normalize_answer("lists it as “Independent”; it’s — fine") == "lists it as independent its fine"
    assert alias_hit("The creator is listed as “Independent” [1].", ["Independent"]) == 1.0


def test_exact_match_squad():
    assert exact_match("The Cat.", ["cat"]) == 1.0
    assert exact_match("Denver Broncos", ["Carolina Panthers", "the Denver Broncos"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0


def test_token_f1_squad():
    # pred [denver, broncos, won] vs ref [denver, broncos]: common 2
    # P = 2/3, R = 2/2 = 1, F1 = 2 * (2/3) * 1 / (2/3 + 1) = 0.8
    assert token_f1("The Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)
    # max over refs: vs "Carolina Panthers" 0; vs "Denver Broncos" P = 1, R = 1/2 -> F1 = 2/3
    assert token_f1("Broncos", ["Carolina Panthers", "Denver Broncos"]) == pytest.approx(2 / 3)
    # repeated tokens counted with multiplicity: common = min(2, 1) = 1, P = 1/2, R = 1 -> 2/3
    assert token_f1("cat cat", ["cat"]) == pytest.approx(2 / 3)
    assert token_f1("The Cat.", ["cat"]) == 1.0
    assert token_f1("dog", ["cat"]) == 0.0
    # both normalise to empty -> 1.0; only one empty -> 0.0 (SQuAD v2 convention)
    assert token_f1("the", ["a"]) == 1.0
    assert token_f1("", ["cat"]) == 0.0


def test_answer_metrics_need_references():
    with pytest.raises(ValueError):
        exact_match("cat", [])
    with pytest.raises(ValueError):
        token_f1("cat", [])


def test_alias_hit_whole_tokens():
    assert alias_hit("The organ is large.", ["GAN"]) == 0.0  # substring, not a token
    assert alias_hit("A GAN generates images.", ["gan"]) == 1.0
    # a plural or third-person ending is the same fact; another word is not
    assert alias_hit("A variation of GANs [1].", ["GAN"]) == 1.0
    assert alias_hit("It generates simulated environments.", ["simulated environment"]) == 1.0
    assert alias_hit("An encoder compresses data.", ["compress"]) == 1.0
    assert alias_hit("The data was compressed.", ["compress"]) == 0.0
    assert alias_hit("Ganesh said so.", ["GAN"]) == 0.0
    assert alias_hit("It is a Generative Adversarial Network.",
                     ["generative adversarial network"]) == 1.0
    # tokens must be contiguous
    gan = ["generative adversarial network"]
    assert alias_hit("generative and adversarial network", gan) == 0.0
    assert alias_hit("GANs are models", ["GANs are"]) == 1.0
    assert alias_hit("Stable Diffusion", ["Midjourney", "stable diffusion"]) == 1.0
    assert alias_hit("anything", []) == 0.0
    assert alias_hit("the answer", ["the"]) == 0.0  # alias normalising to nothing never hits


# ----------------------------------------------------------------- refusal


def test_refusal_rates():
    records = [
        (False, True), (False, False),  # unanswerable: 1 of 2 refused -> 0.5
        (True, True), (True, False), (True, False), (True, False),  # answerable: 1 of 4 -> 0.25
    ]
    assert refusal_rates(records) == {"refusal_rate": 0.5, "false_refusal_rate": 0.25}


def test_refusal_rates_zero_denominators():
    assert refusal_rates([]) == {"refusal_rate": None, "false_refusal_rate": None}
    assert refusal_rates([(True, False)]) == {"refusal_rate": None, "false_refusal_rate": 0.0}
    assert refusal_rates([(False, True)]) == {"refusal_rate": 1.0, "false_refusal_rate": None}


# ----------------------------------------------------------------- citations


def test_citation_validity():
    assert citation_validity([1, 2, 5, 0], 3) == 0.5  # 1 and 2 valid of 4 markers
    assert citation_validity([1, 1], 1) == 1.0
    assert citation_validity([1], 0) == 0.0
    assert citation_validity([], 3) is None


def test_citation_coverage():
    assert citation_coverage(3, 4) == 0.75
    assert citation_coverage(0, 2) == 0.0
    assert citation_coverage(0, 0) is None
    with pytest.raises(ValueError):
        citation_coverage(5, 4)


def test_gold_citation_precision_recall():
    # distinct cited {e1, e2}, gold {e1, e3}: correct {e1} -> P = 1/2, R = 1/2
    assert gold_citation_precision_recall(["e1", "e2", "e1"], {"e1", "e3"}) == (0.5, 0.5)
    assert gold_citation_precision_recall([], {"e1"}) == (None, 0.0)
    assert gold_citation_precision_recall(["x"], set()) == (0.0, None)
    assert gold_citation_precision_recall([], set()) == (None, None)


# ----------------------------------------------------------------- aggregation


def test_mean_ignoring_none():
    assert mean_ignoring_none([1.0, None, 0.0, 0.5]) == 0.5  # (1 + 0 + 0.5) / 3
    assert mean_ignoring_none([0.0, None]) == 0.0  # a measured 0 stays 0
    assert mean_ignoring_none([None, None]) is None
    assert mean_ignoring_none([]) is None


def test_bootstrap_ci_deterministic_and_contains_mean():
    values = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]  # mean 0.7
    ci = bootstrap_ci(values)
    assert ci == bootstrap_ci(values)  # same seed -> same interval
    lo, hi = ci
    assert 0.0 <= lo <= 0.7 <= hi <= 1.0
    assert lo < hi


def test_bootstrap_ci_width_matches_normal_approximation():
    # 50 questions, score 0.8: 1.96 * sqrt(0.8 * 0.2 / 50) = 0.111 half-width (EVALS.md)
    lo, hi = bootstrap_ci([1.0] * 40 + [0.0] * 10)
    assert (hi - lo) / 2 == pytest.approx(0.111, abs=0.02)


def test_bootstrap_ci_edge_cases():
    assert bootstrap_ci([]) is None
    assert bootstrap_ci([None, None]) is None
    assert bootstrap_ci([0.42]) == (0.42, 0.42)
    assert bootstrap_ci([None, 0.5]) == (0.5, 0.5)  # unmeasured values are dropped
    lo, hi = bootstrap_ci([0.3] * 5)
    assert lo == pytest.approx(0.3) and hi == pytest.approx(0.3)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 0.0], alpha=0.0)


def test_bootstrap_of_any_statistic():
    assert bootstrap([], len) is None
    assert bootstrap([3.0], lambda xs: percentile(xs, 95)) == (3.0, 3.0)
    lo, hi = bootstrap([float(i) for i in range(1, 21)], lambda xs: percentile(xs, 95))
    assert lo <= percentile(range(1, 21), 95) <= hi == 20.0  # p95 of 1..20 = 19.05; a resample's max is <= 20
    # undefined statistics (None) are dropped from the resamples
    assert bootstrap([(0, 0)] * 3, pooled_rate) is None


def test_pooled_rate():
    # question 1: 1 of 2 citations off-topic, question 2: 0 of 3 -> pooled 1 / 5 = 0.2 (per question: 0.25)
    assert pooled_rate([(1, 2), (0, 3)]) == pytest.approx(0.2)
    assert pooled_rate([]) is None and pooled_rate([(0, 0)]) is None


# ----------------------------------------------------------------- answer text


ANSWER = ("Stable Diffusion — creator: Stability AI — generates: Image [1] SD1.5: A version of it, e.g. a checkpoint. [2] "
          "It was not made by OpenAI.\nThe table lists 2 models:\n- FastSpeech [1]\n- Tacotron [2, 3]")


def test_markers_and_sentences():
    assert citation_markers(ANSWER) == [1, 2, 1, 2, 3]
    assert strip_markers("A GAN [1]. Two [2, 3]") == "A GAN. Two"
    # ends: a marker before a capitalised word, ". " before a capital, a line break (not after a colon)
    assert sentences(ANSWER) == [
        "Stable Diffusion — creator: Stability AI — generates: Image",
        "SD1.5: A version of it, e.g. a checkpoint.",  # "e.g. a" does not end it: lower-case follows
        "It was not made by OpenAI.",
        "The table lists 2 models: - FastSpeech",  # a list introduced by a colon stays with its sentence
        "- Tacotron",
    ]
    assert sentences("Output. [1] Next one [2].", keep_markers=True) == ["Output. [1]", "Next one [2]."]
    assert sentences("") == [] and sentences("[1]") == []


def test_mentions_whole_words_any_case():
    assert mentions("Made by OpenAI's lab", ["openai"])
    assert not mentions("OpenAIX", ["OpenAI"])
    assert mentions("the DALL·E model", ["dall·e"]) and not mentions("x", ["", "  "])


def test_quote_in_passage_and_off_topic_citations():
    assert quote_in_passage("the  Model’s parameters", "Tampering with the model's parameters.") == 1.0
    assert quote_in_passage("", "anything") == 0.0  # an empty quote verifies nothing
    assert quote_in_passage("other words", "the model") == 0.0
    assert off_topic_citations(["a", "b", "a", "c"], {"a", "c"}) == 1
    assert off_topic_citations([], {"a"}) == 0


# ----------------------------------------------------------------- clean answers

QUOTE = "trained to predict the masked words"  # content words: trained, predict, masked, words


def test_negated_quote_needs_most_content_words_and_a_new_negation():
    # 4 of 4 content words + "not" -> contradiction
    assert negates_quote("The model is not trained to predict masked words.", QUOTE)
    # 3 of 4 (predict, masked, words; not "trained") = 0.75 >= 0.7, with "never"
    assert negates_quote("It never learns to predict masked words.", QUOTE)
    # 2 of 4 = 0.5 < 0.7: too little of the quote to contradict it
    assert not negates_quote("It does not predict words.", QUOTE)
    # n't and cannot count as "not"; a negation the quote has itself is no contradiction
    assert negates_quote("It wasn't trained to predict masked words.", QUOTE)
    assert not negates_quote("Errors do not propagate without feedback.", "errors do not propagate without feedback")
    assert not negates_quote("The model was trained to predict the masked words.", QUOTE)
    assert not negates_quote("not anything", "the a of")  # a quote without content words


def test_contradiction_wrong_string_or_negated_quote():
    assert contradiction("Whisper was made by Google [1].", ["OpenAI"], ["Google", "Meta"]) == "says 'Google'"
    assert contradiction("Whisper was made by Googleplex.", ["OpenAI"], ["Google"]) is None  # whole words only
    assert contradiction("It is not made by OpenAI.", ["OpenAI"], []) == "negates 'OpenAI'"
    assert contradiction("OpenAI made Whisper [1].", ["OpenAI"], ["Google"]) is None


def test_first_sentence_answer():
    assert first_sentence_answer("Stability AI made it [1]. More text.", ["Stability AI"]) == 1.0
    assert first_sentence_answer("The article lists it. Stability AI made it.", ["Stability AI"]) == 0.0
    assert first_sentence_answer("Image [1] Stability AI", ["Stability AI"]) == 0.0  # a marker ended the sentence
    assert first_sentence_answer("", ["x"]) == 0.0


def test_answer_failures_make_the_clean_verdict():
    assert answer_failures(False, True) == []  # out of scope, refused: clean
    assert answer_failures(False, False) == [MISSED_REFUSAL]
    assert answer_failures(True, True, alias_present=True) == [FALSE_REFUSAL]
    assert answer_failures(True, False, alias_present=True) == []  # no citations: the citation condition holds
    assert answer_failures(True, False, alias_present=True, off_topic=1) == [OFF_TOPIC]
    assert answer_failures(True, False, alias_present=False, contradicts=True, off_topic=2) == [
        MISSING_FACT, CONTRADICTION, OFF_TOPIC]


def test_looks_like_refusal():
    assert looks_like_refusal("The context does not provide information about that.")
    assert looks_like_refusal("I don’t know.")  # typographic apostrophe
    assert looks_like_refusal("Empty Response") and looks_like_refusal("  ")
    assert not looks_like_refusal("A GAN pits a generator against a discriminator.")


# ----------------------------------------------------------------- conversations


def test_condensation_of_follow_ups_and_switches():
    sd = ["Stable Diffusion", "SD"]
    assert condensation_correct("And who made it?", "Who made Stable Diffusion?", True, sd)
    assert asks_about_maker("Did that university have a hand in any other entry?")  # any word for a maker
    assert condensation_correct("And who made it?", "who made stable diffusion", True, sd)  # any case
    assert not condensation_correct("And who made it?", "And who made it?", True, sd)  # not rewritten
    assert not condensation_correct("And who made it?", "Who made Midjourney?", True, sd)  # wrong subject
    assert not condensation_correct("Who made it?", "Who made SDXL?", True, sd)  # whole names only
    # "that lab": the subject's creator counts too
    assert asks_about_maker("What else did that lab make?") and not asks_about_maker("What else is in the lab?")
    assert condensation_correct("What else did that lab make?", "What else did DeepMind make?", True, ["AlphaFold"], "DeepMind")
    assert not condensation_correct("What else does it do?", "What else does DeepMind do?", True, ["AlphaFold"], "DeepMind")
    # a topic switch must be left alone (whitespace and case aside)
    assert condensation_correct("Who created AlphaFold?", "who  created alphafold?", False)
    assert not condensation_correct("Who created AlphaFold?", "Who created AlphaFold DeepMind?", False)
    # a topic switch whose pleasantry was dropped is still left alone; one that gained a subject is not
    assert condensation_correct("ok thanks. How do I get wax off a tablecloth?", "How do I get wax off a tablecloth?", False)
    assert not condensation_correct("ok thanks. Who made it?", "Who made it (about GANs)?", False)


def test_a_sentence_verbatim_in_its_source_is_not_a_contradiction():
    quote = "The ability of a model to recognize inputs that resemble the data it was trained on"
    source = ("Out-of-Distribution Detection: The ability of a model to recognize inputs that do not resemble the data it "
              "was trained on, crucial for robustness.")
    answer = ("Out-of-Distribution Detection: The ability of a model to recognize inputs that do not resemble the data it "
              "was trained on, crucial for robustness. [1]")
    assert metrics.contradiction(answer, [quote], []) is not None  # against the gold quote alone it reads as a negation
    assert metrics.contradiction(answer, [quote], [], [source]) is None  # but it is the material's own sentence
    assert metrics.contradiction("It does not recognize inputs that resemble the data it was trained on [1].", [quote], [],
                           [source]) is not None  # a model's own negation still counts


def test_a_negation_the_cited_source_holds_is_not_a_contradiction():
    """A sentence composed from a definition ("X is a training approach ...") keeps the definition's own
    "without"; a negation the answer adds still counts."""
    quote = "models learn patterns from unlabeled data"
    source = ("Unsupervised Learning: A type of machine learning where models learn patterns from unlabeled data, without "
              "explicit instructions on what to predict.")
    composed = ("Unsupervised Learning is a type of machine learning where models learn patterns from unlabeled data, "
                "without explicit instructions on what to predict [1].")
    assert metrics.contradiction(composed, [quote], [], [source]) is None
    added = "Unsupervised Learning is a type of machine learning where models never learn patterns from unlabeled data [1]."
    assert metrics.contradiction(added, [quote], [], [source]) is not None


def test_a_negation_in_another_clause_is_not_a_contradiction():
    quote = "Text, Data Analysis"
    assert metrics.contradiction("The table lists no creator for LangChain; it generates text, data analysis [1].",
                                 [quote], []) is None
    assert metrics.contradiction("LangChain does not generate text, data analysis [1].", [quote], []) is not None
