"""Which sentences of the retrieved passages answer the question: scored by the index's own
embedding model (cosine similarity to the question; sentence vectors cached) plus the share of the
question's focus words they hold.

Used twice by the synthesizer: to give the LLM only the most relevant sentences (a short prompt, a
fast first token), and to keep in the answer only sentences about the question's subject, so a
right answer is not followed by a sentence from an unrelated entry.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from assistant.citations import MIN_WORDS, is_heading, split_sentences
from assistant.text import content_words, is_field_word, normalize, singular, stem
from assistant.types import Passage

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

LEXICAL_WEIGHT = 0.15  # weight of focus-word overlap beside cosine similarity (tuned on the dev split)
MARGIN = 0.15  # a sentence of the answer's entries is kept this close to the best sentence
CUE_WEIGHT = 0.3  # a question asking for an analogy or an example prefers sentences that give one
ASIDE_WEIGHT = 0.15  # an analogy or scene-setting sentence is only an answer when the question asks for one
RANK_WEIGHT = 0.1  # per place a sentence's passage is below the first in the retrieval (tuned on the dev split)
# (what the question asks for, what a sentence that gives it looks like)
# A sentence that gives an analogy: "It’s like having an art forger ...", "akin to a composer ..."
LIKENESS = re.compile(r"\b(analog\w*|imagine|think of|just as|just like|is like|are like|like having|like an?|akin to|"
                      r"similar to|much like)\b|['’]s like\b", re.I)
# A sentence that tells how something works: its steps or its means. It only orders the sentences of the entry
# that answers (the best-ranked one): which entry answers is the retrieval's call, not a verb's.
MECHANISM = re.compile(r"\b(first|then|by (learning|adding|training|taking|reversing|predicting|comparing|applying)|"
                       r"step[- ]by[- ]step|gradually|incrementally|in parallel|learns? (to|how)|trained to|"
                       r"takes? .{0,30} as (the )?input|converts?|encodes?|decodes?|reverses?|predicts?)\b", re.I)
# A sentence that gives a reason or an effect; like MECHANISM, it only orders the sentences of the entry that answers
# ("Why keep a running average of a generator's weights?": EMA's definition, not another entry's "crucial for ...")
REASON = re.compile(r"\b(so that|because|since|thus|therefore|as a result|allows?|allowing|enables?|enabling|helps?|"
                    r"helping|leads? to|results? in|improv\w*|better|pushing|in order to|prevents?|ensures?|crucial|"
                    r"important)\b", re.I)
# A question that asks for a name: "What do you call ...?", "What's the term for ...?", "Are there methods that ...?"
NAMING = re.compile(r"\b(what('s| is| are)? (do you|would you|does one|do we|do people|does the article) call"
                    r"|(what|how)('s| is| are) (it|this|that|they|these) (called|known as|named)|\bcalled what\b"
                    r"|(what|which)('s| is| are)? the (name|term|word|phrase|label)s? (for|of|given to)"
                    r"|(is|are) there (a|an|any) (name|term|word)s? for)\b"
                    r"|^(is|are) there\b[^?.!]{0,60}?\b(methods?|techniques?|approach(es)?|ways?|models?|"
                    r"strateg(y|ies)|tricks?|concepts?|kinds? of models?|types? of models?)\b"
                    r"|^(what|which) (technique|method|approach|concept|strategy|trick|idea|kind of model|type of model|"
                    r"family of models|kind of generator|type of generator)s?\b", re.I)
# A question asking for another entry related to the one it names: "Which loss function is used to learn embedding
# spaces?", "Is there a training trick made for RNNs?". The named entry is the context; the answer is the entry the
# question's other words fit best, whichever it is.
ASKS_FOR_ANOTHER = re.compile(
    r"^(and\W+)?(which|what|is there|are there|does the (glossary|article|table) (have|list|mention|name))\b"
    r"(\s+(an?|any|other|another|specific|particular|kind of|type of|sort of))*\s+([\w-]+\s+)?"
    r"(datasets?|loss(es| functions?)?|tricks?|techniques?|methods?|strateg(y|ies)|components?|architectures?|"
    # "and which part turns that into the output sentence?" after the encoder: the decoder
    r"parts?|halves|half|pieces?|layers?|networks?|"
    # "What technique does LoRA use?" asks what the named entry itself uses; "which dataset does the article say ..." not
    r"approach(es)?|algorithms?|metrics?)\b(?!\s+(does|do|did|is|are)\b(?!\s+the\s+(article|glossary|table|text|author)\b))"
    # "What does the glossary call generative models that ...?", "Which glossary entry covers measuring that?": a term
    # for what is described, not the entry named in passing
    r"|\bwhat (do|does) the (glossary|article|text|author) call\b"
    r"|\b(which|what) (glossary |numbered )?(entry|term|concept|idea|item)\b(?!\s+(does|do|did|is|are|was|were)\b)",
    re.I)
_CUES = [(re.compile(r"\b(analog\w*|metaphor\w*|compar\w*|likened)\b", re.I), LIKENESS),
         # "Where is that useful?", "What are they used for?": the sentence that says where or for what
         (re.compile(r"\b(where|which (fields?|areas?|domains?|industries))\b[^?.!]{0,60}?"
                     r"\b(useful|used|applied|helpful|valuable)\b|\b(useful|used|good|helpful) for\W*$", re.I),
          re.compile(r"\b(useful|used (for|in|to|as)|applied|applications?|fields|industries|domains)\b", re.I)),
         # "Which two models does the section give as examples?": named ones, "a model like GPT or DALL-E" too
         (re.compile(r"\b(as|give|gives|gave|name|names|list|lists|any|some)\s+examples?\b|\bexamples? of (models?|systems?)\b",
                     re.I),
          re.compile(r"\b(example|e\.g\.|for instance|such as)\b|\b(an?|models?|systems?|tools?) like (?-i:[A-Z])", re.I)),
         (re.compile(r"\b(examples?|use ?cases?|in practice|real[- ]world)\b", re.I),
          re.compile(r"\b(example|e\.g\.|for instance|such as)\b", re.I)),
         # "What ethical concerns does the article raise?": the sentence that lists them, not the one that names them
         (re.compile(r"\b(what|which)\s+(\w+\s+)?(concerns|issues|risks|challenges|problems|kinds|types|sorts|applications|"
                     r"uses|domains|fields|areas|metrics|techniques|data types)\b", re.I),
          re.compile(r"\b(such as|including|e\.g\.)\b|\w+, [\w\s-]+, (and|or) \w+", re.I)),
         # "Why does adversarial training pit two networks ...?": the sentence that gives a reason or an effect
         (re.compile(r"^(and |but |so )?why\b|\bwhat (problem|purpose)\b", re.I), REASON),
         # "How does a diffusion model work?": the sentence that tells the steps, not the one that announces them
         (re.compile(r"^(and |but |so )?how (does|do|did|is|are|can|could)\b(?!.*\b(differ|compare|relate)\w*)", re.I),
          MECHANISM),
         # "What's the term for ...?": the sentence that names the entry that answers (its definition, "Title: ...")
         (NAMING, NAMING),
         # "Which well-known models are built on transformers?": the sentence that names some
         # (bounded gaps, not ".*": two unbounded gaps cost cubic time on a long message)
         (re.compile(r"\b(which|what|name|list)\b[^?.!]{0,60}?\b(models|systems|tools|examples)\b[^?.!]{0,60}?"
                     r"\b(built on|based on|use|uses|using|rely on|relies on|powered by|leverage|employ)\b", re.I),
          re.compile(r"\b(models?|systems?|tools?) (like|such as|including)\b", re.I))]
# A sentence that opens by pointing back ("That’s basically what self-attention provides.") says little alone.
POINTS_BACK = re.compile(r"^((and|but|so),? )?(this|these|that|those|it|they|its|their|such)\b", re.I)
POINTING_WEIGHT = 0.1
_ASIDE_LEAD = re.compile(r"^(analogy|example)\s*:|^(imagine|think of|just like|picture)\b", re.I)
# a main clause that likens ("X are like ...", "It’s like having ..."); "You can think of X as ..." still defines X
_LIKENS = re.compile(r"\b(is|are|was|were)\s+(just |much |a bit |rather )?like\b|['’]s like\b|\bakin to\b", re.I)


def is_aside(sentence: str, title: str = "") -> bool:
    """A sentence that sets up an analogy, an example or a scene instead of stating a fact: "Analogy: ...",
    "Imagine you ...", "LoRA and prompt tuning are like ..." (an analogy in the main clause, not a trailing
    "..., akin to a composer" after a statement). `title`: the entry's, when the sentence opens with "Title:"."""
    if title and normalize(sentence).startswith(normalize(f"{title}:")):
        sentence = sentence[len(title) + 1:].strip()
    main_clause = re.split(r",|\s[–—-]\s", sentence, maxsplit=1)[0]
    return bool(_ASIDE_LEAD.match(sentence) or re.search(r"\banalogy\b", sentence, re.I) or _LIKENS.search(main_clause))


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved passage."""

    number: int  # the passage's number in the answer (1-based)
    position: int  # the sentence's place in the passage
    sentence: str
    entry_id: str
    title: str


def asked_for(question: str) -> tuple[re.Match[str], re.Pattern[str]] | None:
    """What kind of sentence the question asks for, if it asks for one: the words that ask (e.g. "What
    challenges") and the pattern of a sentence that gives it (one that lists them)."""
    return next(((hit, pattern) for asks, pattern in _CUES if (hit := asks.search(question))), None)


def candidates(passages: list[Passage]) -> list[Candidate]:
    """The claim-like sentences of the passages (headings and fragments left out)."""
    out = []
    for number, passage in enumerate(passages, 1):
        for position, sentence in enumerate(split_sentences(passage.text)):
            # a lead-in that only announces what follows ("But here’s where it gets clever:") states nothing
            if len(sentence.split()) >= MIN_WORDS and not is_heading(sentence, passage.title) \
                    and not sentence.rstrip().endswith(":"):
                out.append(Candidate(number, position, sentence.strip(), passage.entry_id, passage.title))
    return out


def aspect(question: str, names: Iterable[str], cued: bool = False) -> str:
    """What the question asks about its subject: the question without the subject's names ("Why can
    diffusion models produce such realistic results?" -> "Why can produce such realistic results?").
    Every sentence of the subject's entry is about the subject; which one answers depends on the rest.
    The question itself when nothing but field words would remain ("What is generative AI?"), unless those
    words ask for a kind of sentence (`cued`: "Where is X useful?" asks where it is useful)."""
    rest = question
    for name in sorted((n for n in names if len(n) > 2), key=len, reverse=True):
        rest = re.sub(rf"(?i)(?<![\w-]){re.escape(name)}(e?s)?(?![\w-])", " ", rest)
    rest = " ".join(re.sub(r"\(\s*(about\s*)?\)", " ", rest).split())  # what is left of a condensed "(about X)"
    return rest if rest != question and (focus(rest) or cued) else question


def focus(question: str) -> set[str]:
    """Stems of the question's topic words (field words such as "what", "model", "explain" left out)."""
    return {stem(w) for w in content_words(question) if not is_field_word(w)}


class SentenceRanker:
    """Scores sentences against a question with the index's embedding model."""

    def __init__(self, embed_model: BaseEmbedding, cache_size: int = 20_000):
        self.embed_model, self.cache_size = embed_model, cache_size
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            fresh = self.embed_model.get_text_embedding_batch(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            return [self._cache[t] for t in texts]

    def score(self, question: str, found: list[Candidate], query_embedding: list[float] | None = None,
              names: Iterable[str] = (), material: str = "") -> list[float]:
        """One relevance score per candidate: cosine similarity plus LEXICAL_WEIGHT x focus-word overlap,
        against the question's :func:`aspect` when it names its subject (`names`). `material`: what the whole
        material is about ("Generative AI"), left out of the aspect like a subject's name: "Where does the article
        think generative AI is heading?" asks where it is heading, and every sentence that says "Generative AI"
        would otherwise outrank the one that answers."""
        if not found:
            return []
        import numpy as np

        # what kind of sentence the question asks for; the words that ask stay in its aspect: "What challenges does
        # generative AI pose?" asks for a list even though "Challenges" also names the section
        asking = asked_for(question)
        names = list(names)
        cue = asking[1] if asking else None
        if cue is NAMING and names:  # "Is there a strategy of that kind (self-supervised learning)?": another entry
            cue = None  # is asked for, which the question does not name
        kept = {singular(w.casefold()) for w in asking[0].group(0).split()} if asking else set()
        # the material's subject only when the question names no entry: "Why have transformers become so central to
        # generative AI?" asks about transformers *and* generative AI
        asked = aspect(question, [n for n in [*names, "" if names else material] if n and singular(n.casefold()) not in kept],
                       cued=cue is not None and cue is not NAMING)
        if asked != question:
            question, query_embedding = asked, None
        query = np.asarray(query_embedding if query_embedding is not None
                           else self.embed_model.get_query_embedding(question), dtype=np.float32)
        matrix = np.asarray(self._vectors([c.sentence for c in found]), dtype=np.float32)
        cosine = matrix @ query / (np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0) + 1e-9)
        wanted = focus(question)
        lexical = [len(wanted & {stem(w) for w in content_words(f"{c.title} {c.sentence}")}) / len(wanted) if wanted else 0.0
                   for c in found]
        # The retrieval's own order (hybrid vector + BM25 + names) is better evidence than one sentence's cosine;
        # by entry, so the chunks of one long section share its best place.
        place: dict[str, int] = {}
        for entry_id in (c.entry_id for c in sorted(found, key=lambda c: c.number)):
            place.setdefault(entry_id, len(place))

        def analogy(c: Candidate) -> bool:  # an aside that is no example ("Example: X models learn ...")
            return is_aside(c.sentence, c.title) and not re.match(r"example\s*:", c.sentence, re.I)

        named_plainly = {c.entry_id for c in found if names_entry(c) and not analogy(c)}

        def gives(c: Candidate) -> bool:  # the sentence gives what the question asks for
            if cue in (MECHANISM, REASON) and (place[c.entry_id] or is_aside(c.sentence, c.title)):
                return False
            if cue is NAMING:  # within the entry that answers, the sentence that says its name; an analogy ("X is
                # like ...") says it only in passing, an example ("Example: X models learn ...") says it outright; when
                # no sentence but an analogy names the entry ("Compositionality"), any other (led by the title)
                return not place[c.entry_id] and not analogy(c) and (names_entry(c) or c.entry_id not in named_plainly)
            return bool(cue and cue.search(f"{c.title} {c.sentence}"))

        bonus = [CUE_WEIGHT if gives(c) else
                 -ASIDE_WEIGHT if cue is not LIKENESS and is_aside(c.sentence, c.title) else
                 -POINTING_WEIGHT if POINTS_BACK.match(c.sentence) else 0.0 for c in found]
        prior = [-RANK_WEIGHT * place[c.entry_id] for c in found]
        return [float(c) + LEXICAL_WEIGHT * x + b + p for c, x, b, p in zip(cosine, lexical, bonus, prior, strict=True)]


_WHY_OR_HOW = re.compile(r"^(and |but |so )?(why|how (does|do|did|is|are|can|could))\b(?!.*\b(differ|compare|relate)\w*)", re.I)


def explained_after(question: str, best: Candidate, passage: Passage) -> Candidate | None:
    """The sentence after `best` in its passage when `best` only states what a why/how question asks to be explained
    ("Diffusion models ... work in a very unique and almost counterintuitive way."): the reason or the steps follow
    it ("They first take ..."). None when the question asks no why or how, or `best` gives the reason itself."""
    asking = asked_for(question)
    if not _WHY_OR_HOW.match(question) or asking is None or asking[1].search(best.sentence):
        return None
    after = [replace(c, number=best.number) for c in candidates([passage]) if c.position == best.position + 1]
    # an aside goes on only when it carries on the same thought ("It’s like a hidden source of inspiration ...")
    return after[0] if after and (not is_aside(after[0].sentence, after[0].title) or POINTS_BACK.match(after[0].sentence)) \
        else None


def names_entry(candidate: Candidate) -> bool:
    """Whether a sentence says its entry's name: its title without what is in brackets, what is in them, or
    a part of a title joining two ("Variational Autoencoders (VAEs)": "Variational Autoencoders" or "VAEs";
    "Latent Diffusion and PLMS Sampling": "Latent Diffusion" too)."""
    title = candidate.title
    plain = re.sub(r"\s*\(.*?\)", "", title).strip()
    # "Latent Diffusion and PLMS Sampling" is named by either of its parts
    names = [plain, *re.findall(r"\(([^()]+)\)", title), *re.split(r"\s+and\s+|\s*/\s*", plain)]
    text = normalize(candidate.sentence)
    return any(re.search(rf"(?<![\w-]){re.escape(normalize(n))}(e?s)?(?![\w-])", text) for n in names if len(n) > 2)


def about(candidate: Candidate, subjects: set[str], names: Iterable[str]) -> bool:
    """Whether a sentence is about one of the question's named entries (its own passage, or it names
    one, in the singular or plural: "storing checkpoints" is about Checkpoint)."""
    if candidate.entry_id in subjects:
        return True
    text = normalize(candidate.sentence)
    return any(re.search(rf"(?<![\w-]){re.escape(normalize(n))}(e?s)?(?![\w-])", text) for n in names if len(n) > 2)


def on_subject(scored: list[tuple[float, Candidate]], subjects: set[str], names: Iterable[str],
               limit: int = 3) -> list[tuple[float, Candidate]]:
    """The sentences an answer may use, best first: those about the named entries when the question
    names some, else those of the best sentence's entry only (an answer to "what is the name for
    ..." is one entry, not that entry followed by its neighbour in the glossary)."""
    names = list(names)
    pool = [(s, c) for s, c in scored if about(c, subjects, names)] if subjects else list(scored)
    if not pool:
        return []
    pool.sort(key=lambda sc: sc[0], reverse=True)
    best, top_entry = pool[0][0], pool[0][1].entry_id
    chosen = [(s, c) for s, c in pool if s >= best - MARGIN and (subjects or c.entry_id == top_entry)]
    return chosen[:limit]
