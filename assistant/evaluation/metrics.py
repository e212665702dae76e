"""Pure, dependency-free evaluation metrics (retrieval, answers, refusal, citations).

Definitions follow /work/shared/docs/EVALS.md. Retrieval metrics de-duplicate the ranked
list (keeping the first occurrence) and raise ValueError on an empty relevant set:
unanswerable questions are not scored by retrieval metrics, the caller skips them.
"""

from __future__ import annotations

import math
import random
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

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


def normalize_answer(s: str) -> str:
    """Lowercase, drop punctuation and articles (a/an/the), collapse whitespace (SQuAD)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
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
    """Return 1.0 if any normalised alias is a contiguous whole-token run of the answer."""
    answer_tokens = normalize_answer(answer).split()
    for alias in aliases:
        alias_tokens = normalize_answer(alias).split()
        n = len(alias_tokens)
        if n and any(answer_tokens[i:i + n] == alias_tokens
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


# --------------------------------------------------------------------------- aggregation


def mean_ignoring_none(values: Iterable[float | None]) -> float | None:
    """Return the mean of the measured (non-None) values, or None if nothing was measured."""
    measured = [v for v in values if v is not None]
    return sum(measured) / len(measured) if measured else None


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Return the q-quantile (0..1) of sorted values with linear interpolation (numpy default)."""
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_ci(
    values: Sequence[float | None], n_resamples: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float] | None:
    """Return the percentile-bootstrap (1 - alpha) CI of the mean of non-None values, or None."""
    if n_resamples < 1 or not 0 < alpha < 1:
        raise ValueError("need n_resamples >= 1 and 0 < alpha < 1")
    data = [float(v) for v in values if v is not None]
    if not data:
        return None
    if len(data) == 1:
        return data[0], data[0]
    rng = random.Random(seed)
    n = len(data)
    means = sorted(sum(rng.choices(data, k=n)) / n for _ in range(n_resamples))
    return _percentile(means, alpha / 2), _percentile(means, 1 - alpha / 2)
