"""Pure evaluation metrics (retrieval, answers, clean answers, refusal, citations, condensation).

Definitions follow /work/shared/docs/EVALS.md. Retrieval metrics de-duplicate the ranked
list (keeping the first occurrence) and raise ValueError on an empty relevant set:
unanswerable questions are not scored by retrieval metrics, the caller skips them.

Answer text is read here with the evaluator's own marker and sentence rules, not the answer
path's, so a change to how answers are written cannot change how they are scored. Words and
normalisation come from :mod:`assistant.text`, the project's one vocabulary.
"""

from __future__ import annotations

import math
import random
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from assistant.text import content_words, normalize, stem, words

T = TypeVar("T")

# --------------------------------------------------------------------------- retrieval


def _dedupe(retrieved: Sequence[str]) -> list[str]:
    """Return retrieved ids without duplicates, keeping each id's first occurrence."""
    return list(dict.fromkeys(retrieved))


def _check(relevant: set[str], k: int | None) -> None:
    """Raise ValueError for an empty relevant set or a non-positive k."""
    if not relevant:
        raise ValueError("relevant is empty: retrieval metrics are undefined (skip the question)")
    if k is not None and k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _top_k(retrieved: Sequence[str], relevant: set[str], k: int | None) -> list[str]:
    """Validate inputs and return the de-duplicated top-k ids (all of them if k is None)."""
    _check(relevant, k)
    ranked = _dedupe(retrieved)
    return ranked if k is None else ranked[:k]


def first_relevant_rank(retrieved: Sequence[str], relevant: set[str]) -> int | None:
    """Return the 1-based rank of the first relevant id after de-duplication, or None."""
    for rank, entry in enumerate(_top_k(retrieved, relevant, None), start=1):
        if entry in relevant:
            return rank
    return None


def hit_at_k(retrieved: Sequence[str], relevant: set[str], k: int) -> float:
    """Return 1.0 if any relevant id is in the top k, else 0.0."""
    return 1.0 if any(e in relevant for e in _top_k(retrieved, relevant, k)) else 0.0


def reciprocal_rank(retrieved: Sequence[str], relevant: set[str], k: int | None = None) -> float:
    """Return 1/rank of the first relevant id within the top k (whole list if k is None), else 0."""
    for rank, entry in enumerate(_top_k(retrieved, relevant, k), start=1):
        if entry in relevant:
            return 1.0 / rank
    return 0.0


def recall_at_k(retrieved: Sequence[str], relevant: set[str], k: int) -> float:
    """Return the share of relevant ids found in the top k."""
    found = set(_top_k(retrieved, relevant, k)) & relevant
    return len(found) / len(relevant)


def precision_at_k(retrieved: Sequence[str], relevant: set[str], k: int) -> float:
    """Return the number of relevant ids in the top k divided by k (not by the list length)."""
    hits = sum(1 for e in _top_k(retrieved, relevant, k) if e in relevant)
    return hits / k


def ndcg_at_k(retrieved: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Return binary-gain nDCG@k with ideal DCG over min(|relevant|, k) (BEIR/trec_eval)."""
    top = _top_k(retrieved, relevant, k)
    dcg = sum(1.0 / math.log2(rank + 1) for rank, e in enumerate(top, start=1) if e in relevant)
    idcg = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / idcg


# --------------------------------------------------------------------------- answers

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def _is_punctuation(ch: str) -> bool:
    # SQuAD drops ASCII punctuation only; answers here quote with “ ” and use dashes, so all of Unicode's P* too.
    return ch in _PUNCTUATION or unicodedata.category(ch).startswith("P")


def normalize_answer(s: str) -> str:
    """Lowercase, drop punctuation (ASCII and typographic) and articles (a/an/the), collapse whitespace (SQuAD)."""
    s = s.lower()
    s = "".join(ch for ch in s if not _is_punctuation(ch))
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _require_references(references: Sequence[str]) -> None:
    """Raise ValueError when there is no reference answer to compare against."""
    if not references:
        raise ValueError("references is empty")


def exact_match(prediction: str, references: Sequence[str]) -> float:
    """Return 1.0 if the normalised prediction equals any normalised reference, else 0.0."""
    _require_references(references)
    pred = normalize_answer(prediction)
    return max(1.0 if pred == normalize_answer(ref) else 0.0 for ref in references)


def _f1(prediction: str, reference: str) -> float:
    """Return SQuAD token F1 between one prediction and one reference."""
    pred_tokens = normalize_answer(prediction).split()
    ref_tokens = normalize_answer(reference).split()
    if not pred_tokens or not ref_tokens:
        return 1.0 if pred_tokens == ref_tokens else 0.0
    common = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, references: Sequence[str]) -> float:
    """Return the maximum SQuAD token F1 of the prediction over the references."""
    _require_references(references)
    return max(_f1(prediction, ref) for ref in references)


def alias_hit(answer: str, aliases: Sequence[str]) -> float:
    """Return 1.0 if any normalised alias is a contiguous whole-token run of the answer; a token may
    carry a plural or third-person ending the alias lacks ("GANs" for "GAN", "compresses" for "compress")."""
    answer_tokens = normalize_answer(answer).split()

    def same(token: str, wanted: str) -> bool:
        return token == wanted or token in (wanted + "s", wanted + "es")

    for alias in aliases:
        alias_tokens = normalize_answer(alias).split()
        n = len(alias_tokens)
        if n and any(all(same(t, w) for t, w in zip(answer_tokens[i:i + n], alias_tokens, strict=True))
                     for i in range(len(answer_tokens) - n + 1)):
            return 1.0
    return 0.0


# --------------------------------------------------------------------------- refusal


def refusal_rates(records: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """Return refusal_rate (unanswerable refused) and false_refusal_rate (answerable refused)."""
    counts = {True: [0, 0], False: [0, 0]}  # answerable -> [refused, total]
    for answerable, refused in records:
        counts[bool(answerable)][0] += int(bool(refused))
        counts[bool(answerable)][1] += 1

    def rate(refused: int, total: int) -> float | None:
        return refused / total if total else None

    return {"refusal_rate": rate(*counts[False]), "false_refusal_rate": rate(*counts[True])}


# --------------------------------------------------------------------------- citations


def citation_validity(markers: Sequence[int], n_passages: int) -> float | None:
    """Return the share of [n] markers in 1..n_passages, or None if there are no markers."""
    if not markers:
        return None
    return sum(1 for m in markers if 1 <= m <= n_passages) / len(markers)


def citation_coverage(sentences_with_citation: int, sentences_total: int) -> float | None:
    """Return the share of answer sentences carrying a citation, None if there are no sentences."""
    if sentences_with_citation < 0 or sentences_with_citation > sentences_total:
        raise ValueError("need 0 <= sentences_with_citation <= sentences_total")
    return sentences_with_citation / sentences_total if sentences_total else None


def gold_citation_precision_recall(
    cited_entries: Iterable[str], gold_entries: set[str]
) -> tuple[float | None, float | None]:
    """Return (precision, recall) of the distinct cited entries against the gold entries."""
    cited = set(cited_entries)
    correct = len(cited & gold_entries)
    precision = correct / len(cited) if cited else None
    recall = correct / len(gold_entries) if gold_entries else None
    return precision, recall


def quote_in_passage(quote: str, passage: str) -> float:
    """Return 1.0 if the (non-empty) quote is verbatim in the passage up to case, whitespace and
    typographic quotes/dashes, else 0.0."""
    return 1.0 if quote.strip() and normalize(quote) in normalize(passage) else 0.0


def off_topic_citations(cited_entries: Sequence[str], citable: set[str]) -> int:
    """Return how many citations point to an entry outside the question's relevant and allowed entries."""
    return sum(1 for entry in cited_entries if entry not in citable)


# --------------------------------------------------------------------------- answer text

_MARKER = r"\[\d+(?:\s*,\s*\d+)*\]"
_MARKER_BREAK = re.compile(rf"(?:\s*{_MARKER})+(?=\s+[A-Z])")  # "... Image [1] SD1.5: ..." ends a sentence
_SENTENCE_END = re.compile(r"\x00|(?<=[.!?])\s+(?=[^a-z\s\[])|(?<!:)\s*\n+")


def citation_markers(text: str) -> list[int]:
    """Return the numbers of the [n] (and [n, m]) markers in order."""
    return [int(n) for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", text) for n in group.split(",")]


def strip_markers(text: str) -> str:
    """Return the text without [n] markers."""
    return re.sub(rf"\s*{_MARKER}", "", text).strip()


def sentences(text: str, keep_markers: bool = False) -> list[str]:
    """Return the answer's sentences (without their [n] markers unless `keep_markers`). A sentence
    ends at . ! ? before a word that is not lower-case (markers right after stay with it), after a
    marker followed by a capitalised word, or at a line break (except after a colon: a list
    introduced by "...:" belongs to its sentence)."""
    marked = _MARKER_BREAK.sub(lambda match: match.group(0) + "\x00", text)
    out = []
    for part in _SENTENCE_END.split(marked):
        if part and strip_markers(part):
            out.append(" ".join((part if keep_markers else strip_markers(part)).split()))
    return out


def mentions(text: str, phrases: Iterable[str]) -> bool:
    """Return True if any phrase occurs in the text as whole words, ignoring case."""
    norm = normalize(text)
    return any(p.strip() and re.search(rf"(?<!\w){re.escape(normalize(p))}(?!\w)", norm) for p in phrases)


# --------------------------------------------------------------------------- clean answers

NEGATIONS = frozenset({"not", "no", "never", "cannot", "without"})  # and every "...n't"
FALSE_REFUSAL, MISSING_FACT, OFF_TOPIC, CONTRADICTION, MISSED_REFUSAL = (
    "false refusal", "missing fact", "off-topic citation", "contradiction", "missed refusal")
FAILURE_CLASSES = (FALSE_REFUSAL, MISSING_FACT, OFF_TOPIC, CONTRADICTION, MISSED_REFUSAL)
CONTRADICTION_SHARE = 0.7


def _negations(tokens: Iterable[str]) -> set[str]:
    """The negation words among tokens; "n't" forms and "cannot" count as "not"."""
    out = set()
    for w in tokens:
        if w.endswith("n't") or w == "cannot":
            out.add("not")
        elif w in NEGATIONS:
            out.add(w)
    return out


def negates_quote(sentence: str, quote: str, share: float = CONTRADICTION_SHARE, material: Sequence[str] = ()) -> bool:
    """Return True if the sentence holds at least `share` of the quote's content words (stems)
    together with a negation word the quote lacks. A negation that the `material` (the cited
    passages) holds with the same words around it is the material's own ("... without explicitly
    labeled data" in a sentence built from a definition), not one the answer added."""
    quote_stems = {stem(w) for w in content_words(quote)}
    if not quote_stems:
        return False
    tokens = words(sentence)
    if len(quote_stems & {stem(w) for w in tokens}) / len(quote_stems) < share:
        return False
    sources = [f" {' '.join(words(m))} " for m in material]
    added = {w for i, w in enumerate(tokens) if _negations([w])
             and not any(f" {' '.join(tokens[max(0, i - 2):i + 3])} " in m for m in sources)}
    return bool(_negations(added) - _negations(words(quote)))


def contradiction(answer: str, quotes: Sequence[str], wrong_any: Sequence[str], sources: Sequence[str] = ()) -> str | None:
    """Return why the answer contradicts the gold, or None: a `wrong_any` string present (whole
    words, any case), or a sentence that negates most of a gold quote. A sentence found verbatim in
    one of the `sources` (the passages the answer cites) is the material's own wording, not a
    contradiction of it, whatever negation it holds."""
    text = strip_markers(answer)
    for wrong in wrong_any:
        if mentions(text, [wrong]):
            return f"says {wrong!r}"
    material = [normalize(s) for s in sources]
    for sentence in sentences(answer):
        if material and any(normalize(strip_markers(sentence)).rstrip(" .") in m for m in material):
            continue
        # clause by clause: in "X has no creator listed; it generates text" the "no" is not about the text
        for clause in re.split(r"\s*;\s*", sentence):
            for quote in quotes:
                if negates_quote(clause, quote, material=sources):
                    return f"negates {quote!r}"
    return None


def first_sentence_answer(answer: str, aliases: Sequence[str]) -> float:
    """Return 1.0 if the answer's first sentence alone contains a gold alias, else 0.0."""
    first = sentences(answer)[:1]
    return alias_hit(first[0], aliases) if first else 0.0


def answer_failures(answerable: bool, refused: bool, alias_present: bool = False, contradicts: bool = False,
                    off_topic: int = 0) -> list[str]:
    """Return the failure classes of one answer; the answer is clean when there are none.
    Out of scope: clean iff refused. Answerable: not refused, an alias present, no contradiction,
    and every citation on a relevant or allowed entry (vacuous without citations)."""
    if not answerable:
        return [] if refused else [MISSED_REFUSAL]
    if refused:
        return [FALSE_REFUSAL]
    return ([MISSING_FACT] * (not alias_present) + [CONTRADICTION] * bool(contradicts)
            + [OFF_TOPIC] * bool(off_topic))


# Phrases by which an answer without a refusal flag (the LlamaIndex defaults) declines to answer.
REFUSAL_PHRASES = ("not mentioned", "does not provide", "doesn't provide", "does not mention", "doesn't mention",
                   "cannot", "can't answer", "i don't know", "i do not know", "no information", "not provided",
                   "unable to answer", "no relevant information", "empty response")


def looks_like_refusal(text: str) -> bool:
    """Return True for an empty answer or one that uses a refusal phrase (heuristic, any case)."""
    norm = normalize(text)
    return not norm or any(phrase in norm for phrase in REFUSAL_PHRASES)


# --------------------------------------------------------------------------- conversations

_ASKS_MAKER = re.compile(r"\b(?:that|this|the same|those|these)\s+(?:company|companies|lab|labs|laboratory|"
                         r"organi[sz]ation|firm|team|group|developer|maker|creator|university|institute|outfit|"
                         r"startup|corporation)\b", re.IGNORECASE)


def asks_about_maker(question: str) -> bool:
    """Return True if the question refers to a creator ("that company", "that lab", ...)."""
    return bool(_ASKS_MAKER.search(question))


def condensation_correct(question: str, query: str, followup: bool, subject_names: Sequence[str] = (),
                         creator: str = "") -> bool:
    """Return True if the standalone query is right for the turn. A follow-up must be rewritten
    (query differs from the question) and name its subject (a title or alias, any case), or the
    subject's creator when the question asks for "that company/lab"; any other turn must be left
    alone: it gains no word (whitespace, case and dropped pleasantries such as "ok thanks." aside)."""
    same = normalize(question) == normalize(query)
    if not followup:
        return same or bool(words(query)) and set(words(query)) <= set(words(question))
    names = [*subject_names, *([creator] if creator and asks_about_maker(question) else [])]
    return not same and mentions(query, names)


# --------------------------------------------------------------------------- aggregation


def mean_ignoring_none(values: Iterable[float | None]) -> float | None:
    """Return the mean of the measured (non-None) values, or None if nothing was measured."""
    measured = [v for v in values if v is not None]
    return sum(measured) / len(measured) if measured else None


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default).
    The project's one percentile: eval, bench and reports all use it."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    pos = (len(ordered) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def bootstrap(
    items: Sequence[T], statistic: Callable[[Sequence[T]], float | None], n_resamples: int = 2000,
    alpha: float = 0.05, seed: int = 0,
) -> tuple[float, float] | None:
    """Return the percentile-bootstrap (1 - alpha) CI of `statistic` over resamples of `items`
    (resamples where the statistic is undefined, None, are dropped), or None without items."""
    if n_resamples < 1 or not 0 < alpha < 1:
        raise ValueError("need n_resamples >= 1 and 0 < alpha < 1")
    if not items:
        return None
    if len(items) == 1:
        value = statistic(items)
        return None if value is None else (value, value)
    rng = random.Random(seed)
    n = len(items)
    stats = sorted(v for v in (statistic(rng.choices(items, k=n)) for _ in range(n_resamples)) if v is not None)
    if not stats:
        return None
    return percentile(stats, 100 * alpha / 2), percentile(stats, 100 * (1 - alpha / 2))


def bootstrap_ci(
    values: Sequence[float | None], n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float] | None:
    """Return the percentile-bootstrap (1 - alpha) CI of the mean of non-None values, or None."""
    data = [float(v) for v in values if v is not None]
    return bootstrap(data, lambda xs: sum(xs) / len(xs), n_resamples, alpha, seed)


def pooled_rate(pairs: Sequence[tuple[int, int]]) -> float | None:
    """Sum of numerators over sum of denominators, (hits, total) per question; None if no totals."""
    total = sum(b for _, b in pairs)
    return sum(a for a, _ in pairs) / total if total else None
