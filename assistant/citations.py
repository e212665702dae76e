"""Citation checking as pure functions over text and passages (no LLM, no I/O).

The model writes an answer with ``[n]`` markers pointing at the numbered passages
it was given. We keep only what the passages support:

* markers outside ``1..len(passages)`` are dropped;
* each answer sentence must share most of its content words with one sentence of
  a passage it cites (or, failing that, of any passage) — that passage sentence is
  the citation's quote, so every quote is verbatim in its passage by construction
  and re-checked with :func:`verify_quote`;
* a sentence that contradicts its source is unsupported, however many words they share: a
  negation the source lacks ("does not"), a number the source does not state, a name that is
  neither in the source sentence nor in its entry's title, or a "Label:" lead that is not the
  entry's title ("Texture to Image:" for "Text to Image");
* a supported sentence is shown as its source sentence, verbatim: a 135M model's paraphrase can
  swap roles or drop a qualifier while keeping every word, so its own wording is never shown;
* sentences without support are removed from the answer and reported separately.

When nothing survives, the synthesizer answers with the passages' most relevant
sentences instead (:mod:`assistant.relevance`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.text import content_words, is_field_word, name_words, normalize, stem, words
from assistant.types import Citation, Passage

MARKER = re.compile(r"\s*\[(\d{1,3})\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n+")
_LIST_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_PROMPT_STEMS = {"passa", "quest", "answe", "data"}  # words of our prompt a model may echo
MIN_WORDS = 4  # shorter "sentences" are headings or fragments, not claims
# A leading "Answer:" / "Passage 2:" / ": " echoed from our prompt's layout.
_LABEL = re.compile(r"^\s*(?:(?:answer|sentence|passages?|question|response|source)\s*\d*\s*)?[:;,.)\]–—-]+\s*", re.I)
MAX_SENTENCES = 3  # the prompt asks for at most three; later ones are recitation

MIN_SUPPORT = 0.6  # share of an answer sentence's content words found in one passage sentence
_NEGATION = re.compile(r"\b(not|no|never|none|neither|nor|cannot|without|nothing|nobody)\b|n['’]t\b", re.I)
_NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred "
                 "thousand million billion trillion first second third half").split()
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*|\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)
_LEAD_LABEL = re.compile(r"^\s*([^:.!?]{2,60}?):\s+\S")
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
    focus = {s for s in query_stems if not is_field_word(s)} or query_stems
    return not focus or bool(focus & {stem(w) for w in content_words(sentence)})


def _is_claim(body: str, claim: set[str]) -> bool:
    """A sentence that can state a fact: not a heading, and four words or three content words."""
    return not body.rstrip().endswith(":") and len(claim) >= 2 and (len(body.split()) >= MIN_WORDS or len(claim) >= 3)


def _names_in(sentence: str, passage: Passage) -> bool:
    """True when every name the sentence uses occurs in the passage (or its title): a small model's
    typical error keeps a passage's wording but swaps its subject ("XAI is a field ... that creates content")."""
    known = {stem(w) for w in words(f"{passage.title} {passage.text}")}
    return all(stem(name) in known for name in name_words(sentence))


def negations(text: str) -> int:
    """How many negations a text holds ("not", "no", "never", "n't", "without", ...)."""
    return len(_NEGATION.findall(text))


def numbers(text: str) -> set[str]:
    """Numbers a text states, digits or words ("5 billion" -> {"5", "billion"})."""
    return {m.group(0).lower().replace(",", "") for m in _NUMBER.finditer(text)}


def contradiction(sentence: str, quote: str, title: str) -> str:
    """Why `sentence` says something its source sentence `quote` (of the entry `title`) does not, or ''.

    Word overlap cannot see these, so they are checked apart: a negation the source lacks, a number
    it does not state, a name in neither the source sentence nor the title, and a "Label:" lead
    that names another entry."""
    if negations(sentence) > negations(quote):
        return "negation"
    if numbers(sentence) - numbers(quote) - numbers(title):
        return "number"
    known = {stem(w) for w in words(f"{title} {quote}")}
    if not all(stem(name) in known for name in name_words(sentence)):
        return "name"
    label = _LEAD_LABEL.match(sentence)
    if label and not _LEAD_LABEL.match(quote):
        wanted = {stem(w) for w in content_words(label.group(1))}
        if wanted - {stem(w) for w in content_words(f"{title} {quote}")}:
            return "title"
    elif label:
        theirs = _LEAD_LABEL.match(quote)
        if theirs and normalize(label.group(1)) != normalize(theirs.group(1)) and normalize(label.group(1)) != normalize(title):
            return "title"
    return ""


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
        if quote and is_heading(quote, passages[number - 1].title):
            continue  # the model echoed a heading ("Latent Space: Google search analogy"): not a claim
        if score < min_support or not verify_quote(quote, passages[number - 1].text) or \
                contradiction(body, quote, passages[number - 1].title):
            result.unsupported.append(body)
            continue
        if not _on_topic(body, query_stems) or any(claim <= earlier for earlier in said):
            continue  # beside the question (small models recite every passage), or a repetition
        if len(kept) == MAX_SENTENCES:
            break
        if len(quote.split()) <= MAX_VERBATIM_WORDS:
            if (number, quote) in seen:
                continue  # that source sentence is already in the answer
            body, claim = quote, set(content_words(quote))
        elif score < 1.0:
            result.unsupported.append(body)  # a long source sentence only half restated: neither can be shown
            continue
        said.append(claim)
        result.supported += 1
        kept.append(f"{body.rstrip()} [{number}]")
        if (number, quote) not in seen:
            seen.add((number, quote))
            result.citations.append(_citation(number, passages[number - 1], quote))
    result.text = " ".join(kept)
    return result


def is_heading(sentence: str, title: str = "") -> bool:
    """A title line, not a claim: the entry's own title ("Latent Space: Google search analogy"), or a
    short line without a sentence end or a "label:" ("Transfer Learning in Generative AI")."""
    text = strip_markers(sentence).strip()
    if title and normalize(text).rstrip(" .:") == normalize(title).rstrip(" .:"):
        return True
    return len(text.split()) <= 8 and not text.endswith((".", "!", "?")) and ":" not in text
