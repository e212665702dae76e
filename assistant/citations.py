"""Citation checking as pure functions over text and passages (no LLM, no I/O).

The model writes an answer with ``[n]`` markers pointing at the numbered passages
it was given. We keep only what the passages support:

* markers outside ``1..len(passages)`` are dropped;
* each answer sentence must share most of its content words with one sentence of
  a passage it cites (or, failing that, of any passage) — that passage sentence is
  the citation's quote, so every quote is verbatim in its passage by construction
  and re-checked with :func:`verify_quote`;
* sentences without support are removed from the answer and reported separately.

When nothing survives, :func:`extractive_answer` builds a cited answer from the
passages' own sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.text import STOPWORDS, content_words, normalize, stem, words
from assistant.types import Citation, Passage

MARKER = re.compile(r"\s*\[(\d{1,3})\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n+")
_LIST_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
_PROMPT_STEMS = {"passa", "quest", "answe", "data"}  # words of our prompt a model may echo
# Field words of the model table's rows ("— creator: X — generates: Y").
_FIELD_STEMS = {"creat", "made", "make", "maker", "devel", "built", "build", "gener", "produ", "compa", "organ",
                "model", "who"}
MIN_WORDS = 4  # shorter "sentences" are headings or fragments, not claims
# A leading "Answer:" / "Passage 2:" / ": " echoed from our prompt's layout.
_LABEL = re.compile(r"^\s*(?:(?:answer|sentence|passages?|question|response|source)\s*\d*\s*)?[:;,.)\]–—-]+\s*", re.I)
MAX_SENTENCES = 3  # the prompt asks for at most three; later ones are recitation

MIN_SUPPORT = 0.6  # share of an answer sentence's content words found in one passage sentence
# A model sentence whose every content word is in one passage sentence of at most this many words is
# shown as that sentence, verbatim: the same claim, complete ("MAUVE — creator: Various" keeps its
# "— generates: ..."; a definition keeps the term it defines) and exactly as the source says it.
MAX_VERBATIM_WORDS = 40


@dataclass
class Verified:
    """Result of checking a model answer against its passages."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    supported: int = 0
    dropped_markers: list[int] = field(default_factory=list)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences (also on blank lines and list bullets)."""
    parts = (p.strip() for p in _SENTENCE_END.split(text))
    return [_LIST_BULLET.sub("", p) for p in parts if p and p.strip()]


def find_markers(text: str) -> list[int]:
    """Citation numbers in order of appearance, e.g. ``"a [2] b [1][2]" -> [2, 1, 2]``."""
    return [int(n) for n in MARKER.findall(text)]


def strip_markers(text: str) -> str:
    """Remove ``[n]`` markers."""
    return MARKER.sub("", text).strip()


def verify_quote(quote: str, passage_text: str) -> bool:
    """True when ``quote`` occurs verbatim in the passage (after whitespace/quote normalisation)."""
    q = normalize(quote)
    return bool(q) and q in normalize(passage_text)


def support(sentence: str, passage_text: str) -> tuple[float, str]:
    """Best (score, passage sentence) for an answer sentence; score = share of its content words covered."""
    wanted = set(content_words(strip_markers(sentence)))
    if not wanted:
        return 0.0, ""
    best: tuple[float, str] = (0.0, "")
    for candidate in split_sentences(passage_text):
        covered = wanted & set(content_words(candidate))
        score = len(covered) / len(wanted) if len(covered) >= min(2, len(wanted)) else 0.0
        if score > best[0]:
            best = (score, candidate)
    return best


def _citation(number: int, passage: Passage, quote: str) -> Citation:
    return Citation(number=number, entry_id=passage.entry_id, title=passage.title, quote=quote,
                    passage_text=passage.text, source=passage.source, section=passage.section)


def _on_topic(sentence: str, query_stems: set[str]) -> bool:
    """The sentence shares a word with the question, not counting words every model row has
    ("Who created BERT?" is not answered by "ERNIE — creator: Baidu")."""
    focus = (query_stems - _FIELD_STEMS) or query_stems
    return not focus or bool(focus & {stem(w) for w in content_words(sentence)})


def _is_claim(body: str, claim: set[str]) -> bool:
    """A sentence that can state a fact: not a heading, and four words or three content words."""
    return not body.rstrip().endswith(":") and len(claim) >= 2 and (len(body.split()) >= MIN_WORDS or len(claim) >= 3)


def _names(sentence: str) -> set[str]:
    """Name-like words of a sentence: acronyms, mixed case or digits ("XAI", "StyleGAN", "GPT-3"),
    and capitalised words after the first ("... by OpenAI", "(Explainable ...")."""
    found: set[str] = set()
    for position, token in enumerate(_TOKEN.findall(sentence)):
        capitals = sum(c.isupper() for c in token)
        if capitals >= 2 or (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)) or (
                position > 0 and capitals):
            found.update(w for w in words(token) if w not in STOPWORDS)
    return found


def _names_in(sentence: str, passage: Passage) -> bool:
    """True when every name the sentence uses occurs in the passage (or its title): a small model's
    typical error keeps a passage's wording but swaps its subject ("XAI is a field ... that creates content")."""
    known = {stem(w) for w in words(f"{passage.title} {passage.text}")}
    return all(stem(name) in known for name in _names(sentence))


def _best_support(body: str, cited: list[int], passages: list[Passage], min_support: float) -> tuple[float, str, int]:
    """(score, quote, passage number): the cited passages first, then any passage."""
    for numbers in (cited, list(range(1, len(passages) + 1))):
        scored = [(support(body, passages[n - 1].text), n) for n in numbers if _names_in(body, passages[n - 1])]
        (score, quote), number = max(scored, key=lambda s: s[0][0], default=((0.0, ""), 0))
        if score >= min_support:
            break
    return score, quote, number


def verify_answer(answer: str, passages: list[Passage], min_support: float = MIN_SUPPORT, query: str = "") -> Verified:
    """Keep the supported, correctly cited sentences of a model answer that address the query."""
    query_stems = {stem(w) for w in content_words(query)}
    result = Verified(text="")
    kept: list[str] = []
    said: list[set[str]] = []  # content words of the kept sentences
    seen: set[tuple[int, str]] = set()
    for sentence in split_sentences(answer):
        markers = find_markers(sentence)
        valid = [n for n in dict.fromkeys(markers) if 1 <= n <= len(passages)]
        result.dropped_markers += [n for n in markers if not 1 <= n <= len(passages)]
        body = _LABEL.sub("", strip_markers(sentence))
        claim = set(content_words(body))
        if not _is_claim(body, claim):
            continue  # filler ("Sure!"), headings ("Prompt Tuning:") and fragments ("Diffusion models")
        if not {stem(w) for w in claim} - query_stems - _PROMPT_STEMS:
            continue  # an echo of the question ("Stable Diffusion [1]") answers nothing
        score, quote, number = _best_support(body, valid, passages, min_support)
        if score < min_support or not verify_quote(quote, passages[number - 1].text):
            result.unsupported.append(body)
            continue
        if not _on_topic(body, query_stems) or any(claim <= earlier for earlier in said):
            continue  # beside the question (small models recite every passage), or a repetition
        if len(kept) == MAX_SENTENCES:
            break
        if score >= 1.0 and len(quote.split()) <= MAX_VERBATIM_WORDS:
            if (number, quote) in seen:
                continue  # that source sentence is already in the answer
            body, claim = quote, set(content_words(quote))
        said.append(claim)
        result.supported += 1
        kept.append(f"{body.rstrip()} [{number}]")
        if (number, quote) not in seen:
            seen.add((number, quote))
            result.citations.append(_citation(number, passages[number - 1], quote))
    result.text = " ".join(kept)
    return result


def is_heading(sentence: str) -> bool:
    """A title line ("Transfer Learning in Generative AI"): short, no sentence end, no "label:"."""
    text = sentence.strip()
    return len(text.split()) <= 8 and not text.endswith((".", "!", "?")) and ":" not in text


def extractive_answer(query: str, passages: list[Passage], max_sentences: int = 3) -> Verified:
    """Answer with the passages' own sentences that best match the query, each cited (headings skipped).

    Measured on the gold set (extractive answers alone, top 3 passages): weighting words by rarity
    (IDF) or discounting words of the passage's title both lowered alias hit (0.83 -> 0.75)."""
    wanted = {stem(w) for w in content_words(query)}
    scored: list[tuple[float, int, int, str]] = []
    for number, passage in enumerate(passages, 1):
        for position, sentence in enumerate(split_sentences(passage.text)):
            if len(sentence.split()) < MIN_WORDS or is_heading(sentence):
                continue
            overlap = len(wanted & {stem(w) for w in content_words(sentence)}) / max(len(wanted), 1)
            # Earlier passages and earlier sentences are better evidence at equal overlap.
            scored.append((overlap - 0.05 * (number - 1) - 0.01 * position, number, position, sentence))
    if not scored:  # only headings and fragments: better than nothing, still cited
        scored = [(0.0, n, i, sent) for n, p in enumerate(passages, 1) for i, sent in enumerate(split_sentences(p.text))][:1]
    scored.sort(key=lambda s: s[0], reverse=True)
    best = scored[0][0] if scored else 0.0
    # Keep sentences nearly as good as the best one; the first passage's lead sentence always counts.
    chosen = [s for s in scored if s[0] >= max(best * 0.6, 0.01)][:max_sentences] or scored[:1]
    result = Verified(text="")
    parts = []
    for _, number, _, sentence in sorted(chosen, key=lambda s: (s[1], s[2])):
        parts.append(f"{sentence.strip()} [{number}]")
        result.citations.append(_citation(number, passages[number - 1], sentence.strip()))
        result.supported += 1
    result.text = " ".join(parts)
    return result
