"""Answerability gate: a node postprocessor that decides, before any LLM call, whether
the retrieved passages can answer the question.

Signals (set on each node by the retriever): whether the question names the entry,
the cosine similarity of the question to each passage, and lexical coverage — the
share of the question's focus words (content words that are not entry names nor
words asking for an entry's fields) found in the passages that speak about the
subject. The threshold is calibrated on the gold set's unanswerable questions
(``python -m assistant eval`` plots the calibration curve). Passages below the gate
are kept but marked, so the refusal can name the closest entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant.intent import ABOUT_NAMED, Intent, Kind, topic_phrase, without_subject, without_tag
from assistant.stages import Key, NodeView, intent_of, kinds_of
from assistant.table import table_word
from assistant.text import (
    LANGUAGES,
    ORG_NOUN,
    POINTER_NOUNS,
    RELATION,
    STOPWORDS,
    Vocabulary,
    asked_short_names,
    asking_clause,
    compound_parts,
    content_words,
    english_words,
    is_field_word,
    name_words,
    named_as_example,
    normalize,
    singular,
    spells_out,
    stem,
)

MIN_COVERAGE = 0.5
MAX_FOREIGN = 2  # words the material never uses that a condensed follow-up may bring of its own ("and the payoff?")
UNKNOWN_MARGIN = 0.1  # a term the material never uses is refused unless a passage is this much above the threshold


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on one retrieval."""

    answerable: bool
    reason: str  # e.g. "entry named", "fields-only", "evidence 0.61"


def focus_words(question: str, named_titles: list[str]) -> set[str]:
    """Content words of the question that are not names of entries nor field words."""
    names = {w for title in named_titles for w in content_words(title)}
    return {w for w in content_words(question)
            if w not in names and w.removesuffix("'s") not in names and not is_field_word(w) and len(w) > 2}


def coverage(focus: set[str], texts: list[str], vocabulary: Vocabulary | None = None) -> float:
    """Share of focus words whose stem occurs in the texts, each word weighted by its rarity in the
    material when a vocabulary is given (a missing "juggle" weighs more than a present "learn")."""
    if not focus:
        return 1.0
    stems = {stem(w) for text in texts for w in content_words(text)}
    weight = vocabulary.idf if vocabulary is not None else (lambda w: 1.0)
    total = sum(weight(w) for w in focus)

    def found(word: str) -> bool:  # a compound ("mentor-and-student") is found when each of its words is
        parts = compound_parts(word)
        return stem(word) in stems or bool(parts) and all(stem(p) in stems for p in parts)

    return sum(weight(w) for w in focus if found(w)) / total


# Questions that ask for a number or a date need one in the evidence (names such as
# "M2M-100" do not count); questions about a person or organisation are answered only by a
# model row's creator field, so they need a model row and a verb of making.
_QUANTITY = re.compile(r"\b(how (many|much|long|old|big|large|fast)|formula|equation"
                       r"|what (size|price|percentage))\b", re.I)
# A setting asks for a value, which only a number written as digits gives: "What beam width do people use?",
# "what decay rate should I pick?" ("one" in "from one task to another" is no setting, nor the 3 of "3D")
_SETTING = re.compile(r"\b(what|which)\s+([\w-]+\s+){0,2}(rate|width|rank|size|value|setting|temperature|threshold|"
                      r"dimension|dimensionality|resolution)s?\s+(do|does|did|should|would|could|is|are|to)\b"
                      # "what counts as a good value for it?", "a typical learning rate"
                      r"|\b(good|best|right|typical|recommended|ideal|optimal|usual|sensible|reasonable|default)\s+([\w-]+\s+)?"
                      r"(rate|width|rank|size|value|setting|temperature|threshold|number)s?\b"
                      # "what's the highest resolution BigGAN can generate?": a measure at its extreme
                      r"|\b(highest|lowest|maximum|minimum|max|largest|biggest|smallest|longest|shortest|peak)\s+([\w-]+\s+)?"
                      r"(rate|width|rank|size|value|resolution|length|speed|number|score|accuracy|context)s?\b", re.I)
_DIGITS = re.compile(r"(?<![\w.-])\d+(\.\d+)?(?![\w-])")
_DATE = re.compile(r"\b(what (year|date|day|month|time)|when (was|were|did|is|will))\b|\bin which year\b"
                   r"|\b(cutoff|cut-off|release|launch|publication|training)\s+(date|year)\b", re.I)
# A number standing on its own: the "3" of "GPT-3" is part of a name.
_NUMBER = re.compile(r"(?<![\w-])\d|\b(one|two|three|four|five|ten|hundred|thousand|million|billion)\b", re.I)
_MEASURED = re.compile(r"\bhow (?:many|much)\s+(?P<x>[\w-]+(?:\s+[\w-]+)?)\s+"
                       r"(?:is|are|was|were|does|do|did|can|could|has|have|will|would)\b", re.I)
_YEAR = re.compile(r"(?<![\w-])(1[89]|20)\d\d(?![\w-])")
# "who" that asks, not the relative "who" of "people who shouldn't": at the start of a clause or after a verb of asking.
_PERSON = re.compile(r"(^|[,:;(]\s*|\b(and|or|but|so|know|tell me|wonder|guess|ask|asking|say|says|said|is|was)\s+)who(m|se)?\b"
                     rf"|\bwhich (person|people|researcher|scientist|{ORG_NOUN})\b", re.I)
_MAKING = re.compile(r"\b(creat|made|make|develop|buil|behind|credit|responsib|author|produc|design|releas|own|came up)"
                     r"|\bwhose (is|are|was|were) (it|that|this|they|these|those)\b"
                     rf"|\bfrom(\W*$|\s*,)|\b(comes?|came) from\b|\bsame ({ORG_NOUN}|creator|maker)\b", re.I)


def _asks_quantity(question: str) -> bool:
    """Whether the question asks for a number: "How many parameters ...?", "Do you know how much ...?", but not
    "Which mechanism lets a network decide how much weight each part deserves?" (it asks for a mechanism)."""
    found = _QUANTITY.search(question)
    return found is not None and not re.search(r"\b(what|which|who|why|where)\b", question[:found.start()], re.I)


# "What does PLMS stand for?": only a passage that spells the short name out answers: "... (PLMS)", "PLMS (...)",
# or words whose initials are its capitals ("Multitask Unified Model" for MUM)
def _short_name_unexplained(question: str, texts: list[str], names: list[str] = ()) -> bool:  # type: ignore[assignment]
    """Whether the question asks what a short name stands for and no text spells it out. A short name that is an
    entry's own name (`names`: "CKPT", "SDXL") is answered by what the entry says it is."""
    own = {normalize(n) for n in names}
    shorts = [x for x in asked_short_names(question) if normalize(x) not in own]
    return bool(shorts) and not any(spells_out(x, texts) for x in shorts)


def _evidence_type_ok(question: str, texts: list[str], has_model: bool, names: list[str] = (),  # type: ignore[assignment]
                      creator_asked: bool = False) -> bool:
    """False when the question asks for a kind of fact the evidence cannot hold. `creator_asked`: the question
    reads as asking who made a named model (intent.Kind.CREATOR), whatever verb it uses ("belongs to")."""
    if _asks_quantity(question) or _DATE.search(question) or _SETTING.search(question):
        stripped = texts
        for name in sorted(names, key=len, reverse=True):
            stripped = [t.replace(name, " ") for t in stripped]
        number = _YEAR if _DATE.search(question) else _DIGITS if _SETTING.search(question) else _NUMBER
        if not any(number.search(t) for t in stripped):
            return False
    return not (_PERSON.search(question) and not (has_model and (creator_asked or _MAKING.search(question))))


# The ask points at a situation described before it: "... What is that step called?", "like that", "those clips"
_POINTS_AT_SCENE = re.compile(rf"\b(this|these|those)\s+[\w-]+|\bthat\s+(same\s+)?{POINTER_NOUNS}\b|\blike (this|that)\b"
                              r"|\b(this|that)\W*$", re.I)


# Words that qualify the relation asked about, not a topic: "Does the table credit XLNet to Google alone?", "Is
# Midjourney from one of the big tech companies?"
_QUALIFIERS = frozenset({"alone", "solely", "jointly", "together", "exclusively", "itself", "themselves", "directly",
                         "originally", "actually", "really", "even", "ever", "also", "too", "instead", "either", "neither",
                         "big", "tech", "major", "large", "small", "famous", "startup", "startups",
                         # who exactly, within a creator: "credited to Google as a whole or to a particular Google team?"
                         "whole", "particular", "specific", "team", "teams", "division", "department", "subsidiary",
                         "individual", "person", "single",
                         # which of two rows of one name: "and the plain Perceiver?"
                         "plain", "basic", "original", "regular", "normal", "standard", "bare",
                         # "does the table put it down to GitHub?", "which model family ...?"
                         "down", "family", "families",
                         # reporting, not a topic: "which model family is said to underpin that?"
                         "said", "stated", "claimed", "supposedly", "glossary"})
# What a model is called after what it makes, in the user's words: "Does the table list DeepDream as a picture
# generator or as a classifier?" ("picture" is the kind of output asked about, no topic)
_MAKER_OF = re.compile(r"\b([\w-]+)[- ](?:generators?|makers?|models?|tools?|apps?|creators?|ones?)\b", re.I)


def _what_is_asked_about(question: str) -> str:
    """The part of a message whose names say what it asks about: all of it, except that a situation described
    before an ask pointing at it is only context ("Our offline app has to fit on an Android phone, so we store
    weights as 4-bit integers. What is that step called?": Android is not what is asked about)."""
    asked = asking_clause(question)
    return asked if asked != question and _POINTS_AT_SCENE.search(asked) else question


def unknown_words(term: str, vocabulary: Vocabulary | None) -> list[str]:
    """Topic words of `term` the material never uses: "tokenization", "capital of France", "mode
    collapse" have one; "ethical concerns of generative AI" has none."""
    if vocabulary is None:
        return []
    return [w for w in content_words(term) if not is_field_word(w) and not vocabulary.known(w) and not _adverb(w)]


def _without_leading_action(term: str, vocabulary: Vocabulary | None) -> str:
    """The term without an everyday verb in -ing that leads it: "putting a penalty" is about a penalty."""
    first, _, rest = term.partition(" ")
    return rest if rest and first.lower().endswith("ing") and _everyday(first.lower(), vocabulary) else term


def _adverb(word: str) -> bool:
    """An everyday adverb made from an adjective ("mostly", "usually", "easily"): how, not what, is asked about."""
    if len(word) <= 5 or not word.endswith("ly"):
        return False
    base = word[:-3] + "y" if word.endswith("ily") else word[:-2]
    return base in english_words() or word[:-4] in english_words() and word.endswith("ally")


def _said_of_the_row(word: str, question: str, names: list[str]) -> bool:
    """Whether a word is what the named model (or "it") does, in the user's own verb: "what does it spit out?",
    "Does Perceiver only handle text?", "which organisation's name sits in BigBird's creator column?". The row's
    fields answer those; a thing asked about beside it is a noun ("which hardware did MuZero run on?": "hardware")."""
    doers = "|".join([r"it|they|this|that|name|names|row|rows|cell|cells|entry", *(re.escape(n) for n in names)])
    # the doer is a subject, not the object of a preposition ("Where is the company behind it headquartered?")
    after_preposition = "".join(rf"(?<!\b{p} )" for p in ("behind", "of", "for", "to", "with", "from", "by", "about", "on",
                                                         "in", "at", "into", "than", "like"))
    return re.search(rf"(?<![\w-]){after_preposition}({doers})(?![\w-])\s+"
                     rf"((only|just|really|actually|even|also|mostly|mainly|still)\s+)?"
                     rf"{re.escape(word)}\b", question, re.I) is not None


def _everyday(word: str, vocabulary: Vocabulary | None) -> bool:
    """An everyday English word ("onto", "hobbyists"), or a compound of such words or words the material
    uses ("back-and-forth")."""
    parts = compound_parts(word)
    if parts:
        return all(_everyday(p, vocabulary) or vocabulary is not None and vocabulary.known(p) for p in parts)
    return word in english_words() or singular(word) in english_words()


class AnswerabilityGate(BaseNodePostprocessor):
    """Marks nodes ``gate="pass"`` or ``gate="below"``; the synthesizer refuses on ``below``.

    ``vocabulary`` knows every word of the material and how rare it is: a question whose topic words
    the material never uses ("How does mixture-of-experts routing work?") is refused unless a
    passage is clearly close, and evidence coverage weighs rare words more."""

    threshold: float = 0.52
    vocabulary: Any = None  # assistant.text.Vocabulary

    @classmethod
    def class_name(cls) -> str:
        return "AnswerabilityGate"

    def judge(self, nodes: list[NodeWithScore], question: str, intent: Intent | None = None,
              kinds: frozenset[str] | None = None) -> Verdict:
        """The verdict on a retrieval (pure: reads the retrievers' signals, changes nothing). `intent` and `kinds` are
        the query's reading (:class:`~assistant.stages.AnalyzedQuery`): what it asks and the kinds of entry it asks for."""
        if not nodes:
            return Verdict(False, "nothing retrieved")
        views = [NodeView.of(n) for n in nodes]
        if any(v.table_field for v in views):
            return Verdict(True, "table rows match")
        foreign = self._foreign_words(question)
        if foreign:
            return Verdict(False, f"the material does not mention “{foreign[0]}”")
        texts = [n.node.get_content() for n in nodes]
        best = max(v.vector_score for v in views)
        if intent is not None and intent.term and not intent.subjects and best < self.threshold + UNKNOWN_MARGIN \
                and unknown_words(_without_leading_action(intent.term, self.vocabulary), self.vocabulary):
            return Verdict(False, f"the material does not mention “{intent.term}”")
        # ("Why can a big model like GPT or DALL-E pick up a niche style ...?" is about big models, not DALL-E's row)
        named = [v for v in views if v.named and not named_as_example(question, v.names or [v.title])]
        if named:
            names = [" ".join(v.names) or v.title for v in named]
            focus = focus_words(question, names)
            # Evidence about the subject: its own passages and any passage that mentions it.
            name_list = [x for v in named for x in v.names]
            about = [t for t, v in zip(texts, views, strict=True)
                     if v.named or any(normalize(x) in normalize(t) for x in name_list)]
            about_best = max(v.vector_score for v in named)
            all_models = all(v.kind == "model" for v in named)
            # "What technique is Stable Diffusion built on?": prose that speaks of the model tells what it is built on
            spoken_of = [v for t, v in zip(texts, views, strict=True) if not v.named and v.kind != "model"
                         and any(normalize(x) in normalize(t) for x in name_list)]
            # ("Apart from its row in the model table, where does DALL-E come up?": the prose that speaks of it answers)
            if all_models and spoken_of and (RELATION.search(question) or kinds):
                all_models, about_best = False, max(about_best, *(v.vector_score for v in spoken_of))
            if all_models and kinds and any(v.kind != "model" and v.vector_score >= self.threshold + 0.1
                                                            for v in views[:3]):
                # "Is MAUVE one of the metrics the glossary lists?" asks of the glossary: its passages decide
                return self._evidence(question, texts, views, best)
            if all_models:  # a row's own fields answer only for themselves: "audio" in "What sampling rate does
                # WaveNet's audio use?" is WaveNet's output, and leaves "sampling rate" to be found elsewhere
                values = {stem(w) for v in named for w in content_words(f"{v.field('creator')} {v.field('generates')}")}
                focus = {w for w in focus if stem(w) not in values}
            covered = coverage(focus, about, self.vocabulary)
            if not _evidence_type_ok(question, about, any(v.kind == "model" for v in named), name_list,
                                     creator_asked=intent is not None and intent.kind is Kind.CREATOR) \
                    or _short_name_unexplained(question, texts, name_list):
                return Verdict(False, "fields-only" if all_models else "no such facts")
            if intent is not None and intent.kind is Kind.NUMBER:
                numbered = any(v.field("number") for v in named)
                return Verdict(numbered, "entry named (number)" if numbered else "the entry has no number in the article")
            if intent is not None and intent.kind in ABOUT_NAMED:
                # "Who owns the copyright to images made with Midjourney?" names a model and asks who, but about
                # something the material never mentions. Only the clause that asks counts: "Whisper and WaveNet
                # both deal with sound; who made each?" asks who made them.
                asked = focus_words(without_tag(asking_clause(question)), names)
                # "Is DeepMind Lab a game-playing agent?": the row answers with what it is, whatever the user calls it
                asked -= set(content_words(intent.term)) if intent.kind is Kind.OUTPUT else set()
                asked -= {m.group(1).lower() for m in _MAKER_OF.finditer(question)}
                # ("is it listed for making pictures ...?": the table's word for it, "image", is the material's)
                # (one read as asking for the row's fields has no strange words: "as something that writes text")
                strange = [w for w in focus & asked if not intent.asks_fields
                           and self.vocabulary is not None and not self.vocabulary.known(w)
                           and not self.vocabulary.known(table_word(w))
                           and singular(w) not in STOPWORDS and not _adverb(w)  # "elses", "exactly"
                           and w not in _QUALIFIERS and not _said_of_the_row(w, question, name_list)
                           and intent.kind in (Kind.CREATOR, Kind.OUTPUT)]
                if strange:
                    return Verdict(False, f"the material does not mention “{strange[0]}”")
                return Verdict(True, f"entry named ({intent.kind.value})")
            # "How does the Wasserstein loss change the way a GAN is trained?" names GANs but asks about
            # something else: a term the material never uses and no everyday word ("onto", "back-and-forth").
            topic = topic_phrase(question)
            strange = unknown_words(topic, self.vocabulary) if topic else []
            terms = [w for w in strange if not _everyday(w, self.vocabulary)]
            if terms and not any(normalize(x) in normalize(topic) for x in name_list):
                return Verdict(False, f"the material does not mention “{terms[0]}”")
            if covered >= MIN_COVERAGE or (covered > 0 or not all_models) and about_best >= self.threshold + 0.1:
                return Verdict(True, "entry named")
            # A model row only answers who made it and what it generates ("What license is BLOOM under?": no).
            if all_models:
                return Verdict(False, "fields-only")
            # A term named in passing ("learning embeddings so that ...") may not be what is asked about: the
            # evidence of the passages decides, as for a question naming nothing.
            if strange and best < self.threshold + UNKNOWN_MARGIN:
                return Verdict(False, f"the material does not mention “{topic}”")
            evidence = self._evidence(question, texts, views, best)
            return evidence if evidence.answerable else Verdict(False, "named entry does not cover the question")
        return self._evidence(question, texts, views, best)

    def _foreign_words(self, question: str) -> list[str]:
        """The words of a condensed follow-up's own question that the material never uses, when they say it is about
        something else: more than MAX_FOREIGN of them, weighing more than the words it does use. The subject attached
        ("(about Feature Extraction)") draws passages about that entry, and must not vouch for "How do I get a rusted
        bolt loose?"; a real follow-up brings little of its own ("and the payoff?", "why would anyone bother?")."""
        own = without_subject(question)
        if own == question or self.vocabulary is None:
            return []
        focus = focus_words(own, [])
        topic = [w for w in dict.fromkeys(content_words(own))  # in the question's order, for the reason given
                 if w in focus and singular(w) not in STOPWORDS and w not in _QUALIFIERS and not _adverb(w)]
        foreign = [w for w in topic if not self.vocabulary.known(w)]
        weight = sum(map(self.vocabulary.idf, foreign))
        return foreign if len(foreign) > MAX_FOREIGN and weight > sum(map(self.vocabulary.idf, topic)) / 2 else []

    def _evidence(self, question: str, texts: list[str], views: list[NodeView], best: float) -> Verdict:
        """The verdict from the passages alone: the best similarity plus the top passages' coverage."""
        top = texts[:3]
        if not _evidence_type_ok(question, top, any(v.kind == "model" for v in views[:3])) \
                or _short_name_unexplained(question, texts):
            return Verdict(False, "no such facts")
        # Names the material never uses ("FLAN", "Alpaca", "GPT-5"): the question is about something else.
        # ("a sentence in French" names a language, no entry)
        strangers = [n for n in name_words(_what_is_asked_about(question))
                     if self.vocabulary is not None and not self.vocabulary.known(n) and n not in LANGUAGES]
        if strangers and best < self.threshold + UNKNOWN_MARGIN:
            return Verdict(False, f"the material does not mention “{strangers[0]}”")
        # A name is no paraphrase: when the question is about one the material never uses ("How does Nightshade
        # poison images?"), however close the passages' words are, they are about something else.
        lead = content_words(topic_phrase(question))[:1]
        if lead and lead[0] in strangers and not _everyday(lead[0], self.vocabulary):
            return Verdict(False, f"the material does not mention “{lead[0]}”")
        # "What can Google's Gemini model generate?": a model the material never lists is what is asked about
        for name in strangers:
            if re.search(rf"(?<![\w-]){re.escape(name)}\s+(models?|system|chatbot|assistant|llm|tool|app)\b", question, re.I):
                return Verdict(False, f"the material does not mention “{name}”")
        # "How much carbon dioxide is emitted ...": what is measured is the topic, and the material never uses it.
        measured = _MEASURED.search(question)
        unknown = unknown_words(measured.group("x"), self.vocabulary) if measured else []
        if unknown and best < self.threshold + UNKNOWN_MARGIN:
            return Verdict(False, f"the material does not mention “{unknown[0]}”")
        focus = focus_words(question, [])
        score = best + 0.25 * coverage(focus, top, self.vocabulary)
        return Verdict(score >= self.threshold, f"evidence {score:.2f}")

    def _postprocess_nodes(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        verdict = self.judge(nodes, query_bundle.query_str if query_bundle else "", intent_of(query_bundle),
                             kinds_of(query_bundle))
        for node in nodes:  # the retrievers' copies: the index snapshot's nodes are never marked
            node.node.metadata[Key.GATE.value] = "pass" if verdict.answerable else "below"
            node.node.metadata[Key.GATE_REASON.value] = verdict.reason
        return nodes
