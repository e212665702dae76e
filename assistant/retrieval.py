"""Hybrid retrieval: vector (Chroma) + BM25, fused by weighted relative scores (min-max
normalised per retriever, as LlamaIndex's "relative_score" fusion), with a boost for
entries the question names by title or alias.

The weights (vector 1.0, BM25 0.8, name boost 0.5) were chosen with the retrieval eval
(`python -m assistant eval --no-answers`); see README "Evaluation".

Why not ``QueryFusionRetriever``: the answerability gate needs each retriever's raw
scores (cosine similarity, BM25) and which entries the question names; the fusion
retriever keeps only fused scores. Everything else is LlamaIndex's: the vector
retriever over ``ChromaVectorStore``, ``BM25Retriever`` (persisted, built once per
index content), ``NodeWithScore``/``QueryBundle``.
"""

from __future__ import annotations

import copy
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core import VectorStoreIndex
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore

from assistant.citations import MIN_WORDS, split_sentences, strip_markers
from assistant.stages import Key, NodeView, kinds_of, message_of, with_metadata
from assistant.text import (
    RELATION,
    SET_ASIDE,
    STOPWORDS,
    asked_short_names,
    content_words,
    is_field_word,
    normalize,
    singular,
    spells_out,
    unify,
    without_typed_examples,
    without_where,
    words,
)

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from assistant.store import Store

log = logging.getLogger(__name__)
RRF_K = 60
MENTION_BOOST = 0.5  # share of the name boost a prose chunk gets for speaking of a named entry
UNMATCHED_SHARE = 0.5  # a named entry none of whose chunks the question matched starts at this share of the best
# the whole message's share beside the ask's when a situation was told before it: on dev's 49 such questions the right
# entry came first 30 times from the ask alone, 35 at 0.5, 38 at 1.0 and 1.5, 37 at 2.0, 36 at 3.0
MESSAGE_SHARE = 1.0
MAX_GROUP = 3  # a heading over at most this many entries names each of them
_CLOSING = ["conclusion", "closing paragraph", "closing section", "final section", "final paragraph", "last section",
            "last paragraph", "closing remarks", "concluding section", "concluding paragraph"]
_OPENING = ["introduction", "opening paragraph", "opening section", "first paragraph", "intro"]


@dataclass
class Evidence:
    """Raw signals of one retrieval, read by the answerability gate."""

    named_entries: list[str] = field(default_factory=list)
    vector_scores: dict[str, float] = field(default_factory=dict)  # node id -> cosine similarity
    bm25_scores: dict[str, float] = field(default_factory=dict)


def _sentence_key(sentence: str) -> str:
    return normalize(sentence).strip(" .!?")


class NameIndex:
    """Finds entry titles and aliases mentioned in a question (whole words).

    One-word names with two or more capitals (acronyms such as "CAN", "RAG", "MUM", "LoRA") match
    in their own case, so "how can a ..." does not name Creative Adversarial Networks, nor "an
    existing clip" CLIP; in a question typed all in lower case (or all in capitals) they match in
    any case ("what is a gan", "WHAT IS LORA"), except those that lower-cased are stopwords ("what can it
    read?" names no CAN). Other names match case-insensitively.
    """

    # A name mentioned in more entries than this ("generative AI", "training data") is a
    # topic word, not a reference to one entry: it gets no boost.
    GENERIC_DF = 5

    def __init__(self, names_by_entry: dict[str, list[str]], titles: dict[str, str] | None = None,
                 texts_by_entry: dict[str, str] | None = None, kinds: dict[str, str] | None = None):
        self.titles = titles or {}  # node id -> entry title
        self.kinds = kinds or {}  # entry id -> kind ("model", "glossary", ...)
        self.titles_by_entry = {entry_id: names[0] for entry_id, names in names_by_entry.items() if names}
        self._title_words: dict[str, set[str]] = {}  # word -> node ids whose title has it
        for node_id, title in self.titles.items():
            for word in words(title):
                self._title_words.setdefault(word, set()).add(node_id)
        self.entries_by_name: dict[str, list[str]] = {}
        self.caseless: dict[str, list[str]] = {}  # lower-case forms of acronym names, for all-lower/upper questions
        for entry_id, names in names_by_entry.items():
            model = self.kinds.get(entry_id, "model") == "model"
            # a model's hyphenated name is also written with a space: "Turing NLG" for "Turing-NLG"
            spaced = [n.replace("-", " ") for n in names
                      if model and re.search(r"[A-Za-z]-[A-Za-z]", n) and not re.search(r"\d", n)]
            for name in names + spaced + ([] if model else self._numbers(names)):
                key = self._key(name)
                if len(key) >= 2 and entry_id not in self.entries_by_name.setdefault(key, []):
                    self.entries_by_name[key].append(entry_id)
                # an acronym that lower-cased is a word every question uses ("CAN": "what can it read?") is not
                # found in any case
                if key != normalize(name) and normalize(name) not in STOPWORDS \
                        and entry_id not in self.caseless.setdefault(normalize(name), []):
                    self.caseless[normalize(name)].append(entry_id)
        self.twins = self._twins(names_by_entry)
        alternatives = sorted(self.entries_by_name, key=len, reverse=True)
        body = "|".join(re.escape(a) for a in alternatives) or r"(?!x)x"
        self.pattern = re.compile(rf"(?<![\w-])(?:{body})(?![\w-])")
        self.generic: set[str] = set()
        if texts_by_entry:
            df: dict[str, int] = {}
            for text in texts_by_entry.values():
                for name in set(self._matches(text)):
                    df[name] = df.get(name, 0) + 1
            self.generic = {name for name, count in df.items() if count > self.GENERIC_DF}
        # the material's sentences and their entries: an answer quotes them verbatim, so its sources can be read back
        self._sentences: dict[str, str] = {}
        for entry_id, text in (texts_by_entry or {}).items():
            for sentence in split_sentences(text):
                if len(sentence.split()) >= MIN_WORDS:
                    self._sentences.setdefault(_sentence_key(sentence), entry_id)

    def _twins(self, names_by_entry: dict[str, list[str]]) -> dict[str, list[str]]:
        """Prose entries that share a model row's name, plural aside: the glossary's "Vision Transformers
        (ViTs)" for the row "ViT (Vision Transformer)". The row says who made it; its twin says what it is."""
        def keys(entry_id: str) -> set[str]:
            out = set()
            for name in names_by_entry[entry_id]:
                parts = normalize(re.sub(r"\s*\(.*\)", "", name)).split() or normalize(name).split()
                inner = re.findall(r"\(([^()]*)\)", name)
                for variant in [parts, *(normalize(x).split() for x in inner)]:
                    if variant:
                        out.add(" ".join(variant[:-1] + [singular(variant[-1])]))
            return out

        prose = {e: keys(e) for e in names_by_entry if self.kinds.get(e, "model") != "model"}
        twins: dict[str, list[str]] = {}
        for entry_id in names_by_entry:
            if self.kinds.get(entry_id, "model") == "model":
                own = keys(entry_id)
                twins[entry_id] = [e for e, k in prose.items() if own & k]
        return {e: t for e, t in twins.items() if t}

    @staticmethod
    def _numbers(names: list[str]) -> list[str]:
        """The other grammatical number of a term's names, so "the transformer" names the section
        "Transformers" and "skip connection" the entry "Skip Connections" (model names are names, not
        nouns, and acronyms keep their case: neither gets one)."""
        out = []
        for name in names:
            head, _, last = name.rpartition(" ")
            if not last.isalpha() or len(last) < 4 or any(c.isupper() for c in last[1:]):
                continue
            other = singular(last) if singular(last) != last else last + ("es" if last.endswith(("s", "x", "ch", "sh")) else "s")
            out.append(f"{head} {other}".strip())
        return [n for n in out if n not in names]

    @staticmethod
    def _key(name: str) -> str:
        """Case-sensitive form for acronym-like names, lower case for the rest."""
        text = normalize(name)
        # "Meta-Learning" is two capitalised words, not an acronym like "LoRA" or "GPT-Neo"
        capitalised = all(re.fullmatch(r"[A-Z][a-z]+", part) for part in name.strip().split("-"))
        if " " not in name.strip() and sum(c.isupper() for c in name) >= 2 and not capitalised:
            return unify(name)
        return text

    def inside(self, text: str) -> list[str]:
        """Entry ids whose names occur in `text`, also inside longer names ("LoRA" in "LoRA and Prompt Tuning")."""
        return list(dict.fromkeys(e for name in self._matches(text) if name not in self.generic
                                  for e in self.entries_by_name.get(name, []) or self.caseless.get(name, [])))

    def title_contains(self, text: str) -> set[str]:
        """Node ids whose entry title contains (as whole words) a name found in `text`."""
        out: set[str] = set()
        for name in self._matches(text):
            if name in self.generic or (" " not in name.strip() and name == name.lower()):
                continue  # one-word common names ("prompt") are too common inside other titles; acronyms ("LoRA") are not
            candidates = set.intersection(*(self._title_words.get(w, set()) for w in words(name))) if words(name) else set()
            pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
            for node_id in candidates:
                title = self.titles[node_id]
                if pattern.search(unify(title) if name != name.lower() else normalize(title)):
                    out.add(node_id)
        return out

    def matches(self, text: str) -> list[str]:
        """Every entry name `text` uses, as written in the material (names inside longer ones included)."""
        return self._matches(text)

    def _matches(self, text: str) -> list[str]:
        spaced = unify(text)
        found = [m.group(0) for m in self.pattern.finditer(spaced)] + [m.group(0) for m in self.pattern.finditer(normalize(text))]
        letters = [c for c in text if c.isalpha()]
        if self.caseless and letters and (all(c.islower() for c in letters) or all(c.isupper() for c in letters)):
            lowered = normalize(text)
            found += [name for name in self.caseless if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered)]
        return found

    @staticmethod
    def _outside(name: str, containing: list[str], text: str) -> bool:
        """Whether `name` also occurs outside the longer names that contain it ("How is a negative prompt
        different from a normal prompt?" names Prompt as well as Negative Prompt)."""
        rest = normalize(text)
        for other in sorted(containing, key=len, reverse=True):
            rest = rest.replace(other, " ")
        return bool(re.search(rf"(?<![\w-]){re.escape(normalize(name))}(?![\w-])", rest))

    def quoted_in(self, answer: str) -> list[str]:
        """Entry ids whose sentences an answer quotes, in order: its sources, even when it never says their names
        ("In the second phase, you then train that same model to reverse the process ..." is Diffusion models)."""
        found: list[str] = []
        for sentence in split_sentences(strip_markers(answer)):
            key = _sentence_key(sentence)
            entry_id = self._sentences.get(key) or self._sentences.get(key.split(": ", 1)[-1])  # "Title: sentence"
            if entry_id and entry_id not in found:
                found.append(entry_id)
        return found

    def names_of(self, entry_id: str) -> list[str]:
        """Every name (title, aliases, lower-case forms) that finds the entry."""
        return [name for name, entries in self.entries_by_name.items() if entry_id in entries]

    def find(self, text: str) -> list[str]:
        """Entry ids named in `text`, in order of mention, longest names winning overlaps ("Craiyon
        (DALL·E Mini)" names Craiyon, not also DALL·E)."""
        # "Besides the text prompt, what does ControlNet take?": what is set aside is not asked about
        rest = SET_ASIDE.sub(" ", text)
        asked = self.find(rest) if rest != text else []
        if asked:
            return asked
        found: list[str] = []
        text = _spell_out_coordination(text)
        plain = normalize(text)

        def place(name: str) -> int:  # where the name is first mentioned
            found = re.search(rf"(?<![\w-]){re.escape(normalize(name))}(?![\w-])", plain)
            return found.start() if found else len(plain)

        matched = sorted(self._matches(text), key=place)
        longer = [normalize(m) for m in matched]
        for name in matched:
            containing = [other for other in longer if normalize(name) != other and normalize(name) in other]
            if name in self.generic or containing and not self._outside(name, containing, text):
                continue
            for entry_id in self.entries_by_name.get(name, []) or self.caseless.get(name, []):
                if entry_id not in found:
                    found.append(entry_id)
        return found + [t for e in found for t in self.twins.get(e, []) if t not in found]


# "self-supervised and unsupervised learning": two terms sharing their last word
_COORDINATED = re.compile(r"\b(?P<a>[\w-]+) (?:and|or|vs\.?|versus) (?P<b>[\w-]+) (?P<head>[\w-]+)\b", re.I)


def _spell_out_coordination(text: str) -> str:
    """`text` with each coordination of two modifiers of one noun spelt out in full after it ("self-supervised
    and unsupervised learning" gains "(self-supervised learning)"), so the first term is found too; only
    modifiers ending in "-ed", "-ing" or a hyphenated compound count ("text and image models" is left alone)."""
    extra = [f"{m['a']} {m['head']}" for m in _COORDINATED.finditer(text)
             if re.search(r"(ed|ing)$|-", m["a"]) and re.search(r"(ed|ing)$|-", m["b"])]
    return f"{text} ({'; '.join(extra)})" if extra else text


def _bm25_dir(data_dir: Path, store: Store) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{store.url or 'local'}-{store.name}")
    return data_dir / "bm25" / safe


def load_bm25(store: Store, data_dir: Path, fingerprint: str, nodes: list[TextNode], top_k: int) -> Any:
    """BM25 over all nodes: loaded from disk when built for this index content, else built and saved."""
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    folder = _bm25_dir(data_dir, store)
    stamp = folder / "FINGERPRINT"
    if stamp.exists() and stamp.read_text() == fingerprint:
        try:
            retriever = BM25Retriever.from_persist_dir(str(folder))
            retriever.similarity_top_k = min(top_k, len(nodes))
            return retriever
        except Exception as exc:  # a damaged cache is rebuilt below
            log.warning("BM25 cache unreadable (%s); rebuilding", type(exc).__name__)
    retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(top_k, len(nodes)),  # type: ignore[arg-type]
                                            stemmer=Stemmer.Stemmer("english"), language="english")
    try:
        shutil.rmtree(folder, ignore_errors=True)
        retriever.persist(str(folder))
        stamp.write_text(fingerprint)
    except OSError as exc:  # a read-only data dir only costs the cache
        log.warning("Could not save the BM25 index (%s)", exc.strerror)
    return retriever


def _fusion_scores(hits: list[NodeWithScore], mode: str) -> dict[str, float]:
    """Per-retriever scores to add up: reciprocal rank, or min-max normalised score (LlamaIndex's
    "relative_score" fusion), which keeps how far ahead a strong BM25 match is."""
    if mode == "rrf":
        return {h.node.node_id: 1.0 / (RRF_K + rank + 1) for rank, h in enumerate(hits)}
    scores = [float(h.score or 0.0) for h in hits]
    low, high = min(scores, default=0.0), max(scores, default=0.0)
    span = (high - low) or 1.0
    return {h.node.node_id: (float(h.score or 0.0) - low) / span for h in hits}


class HybridRetriever(BaseRetriever):
    """Vector + BM25 fused by weighted relative score; entries named in the question boosted."""

    def __init__(self, vector: BaseRetriever, bm25: BaseRetriever, names: NameIndex,
                 nodes_by_entry: dict[str, list[TextNode]], embed_model: BaseEmbedding,
                 top_k: int = 5, candidates: int = 20, vector_weight: float = 1.0, bm25_weight: float = 0.8,
                 fusion: str = "relative", name_boost: float = 0.5):
        super().__init__()
        self.vector, self.bm25, self.names = vector, bm25, names
        self.nodes_by_entry, self.embed_model = nodes_by_entry, embed_model
        self.top_k, self.candidates = top_k, candidates
        self.corpus_size = sum(len(chunks) for chunks in nodes_by_entry.values())
        # the prose chunks, read once: what the relation and short-name rules search through
        self.prose = [c for chunks in nodes_by_entry.values() for c in chunks if NodeView.of(c).kind != "model"]
        self.weights = (vector_weight, bm25_weight)
        self.fusion, self.name_boost = fusion, name_boost

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        # searched for what is asked, not where: "in the table" would rank the table's introduction first
        if query_bundle.embedding is None:
            query_bundle.embedding = self.embed_model.get_query_embedding(query_bundle.query_str)
        search = QueryBundle(without_typed_examples(without_where(query_bundle.query_str)), embedding=query_bundle.embedding)
        if search.query_str != query_bundle.query_str:
            search.embedding = self.embed_model.get_query_embedding(search.query_str)
        message = message_of(query_bundle)
        # a question asking for a kind of entry ("Which of the numbered concepts ...?") ranks the others lower (below)
        kinds = kinds_of(query_bundle)
        self.vector.similarity_top_k = self.candidates  # type: ignore[attr-defined]
        self.bm25.similarity_top_k = min(self.candidates, self.corpus_size)  # type: ignore[attr-defined]
        searches = [search]
        if message:
            # "Our app must fit on a phone, so we store weights as 4-bit integers. What is that step called?": the ask
            # alone says little and the situation says what; both are searched and their scores added (see MESSAGE_SHARE)
            whole = without_typed_examples(without_where(message))
            searches.append(QueryBundle(whole, embedding=self.embed_model.get_query_embedding(whole)))
            if not [w for w in content_words(search.query_str) if not is_field_word(w)]:
                # "The article has a bit about a kid recombining toy pieces. What idea is that explaining?": an ask of
                # field words only says nothing of what (its "explaining" would find Explainable AI): the message alone
                searches = searches[1:]
        evidence = Evidence(named_entries=self.names.find(query_bundle.query_str), vector_scores={}, bm25_scores={})
        fused: dict[str, float] = {}
        nodes: dict[str, TextNode] = {}
        for searched, share in zip(searches, (1.0, MESSAGE_SHARE), strict=False):
            vector_hits, bm25_hits = self.vector.retrieve(searched), self.bm25.retrieve(searched)
            for hits, weight, scores in ((vector_hits, self.weights[0], evidence.vector_scores),
                                         (bm25_hits, self.weights[1], evidence.bm25_scores)):
                for node_id, score in _fusion_scores(hits, self.fusion).items():
                    fused[node_id] = fused.get(node_id, 0.0) + share * weight * score
                for hit in hits:
                    nodes.setdefault(hit.node.node_id, hit.node)  # type: ignore[arg-type]
                    scores[hit.node.node_id] = max(scores.get(hit.node.node_id, 0.0), float(hit.score or 0))
        # Entries the question names are boosted: their chunks that matched the question
        # (or their first chunk when none did). Entries
        # whose title contains a named name ("Latent Space: Google search analogy" for
        # "latent space") join them when the question also matched them.
        named: set[str] = set()
        best = max(fused.values(), default=0.0)
        for entry_id in evidence.named_entries:
            chunks = self.nodes_by_entry.get(entry_id, [])
            matched = [n.node_id for n in chunks if n.node_id in fused]
            if not matched and chunks and NodeView.of(chunks[0]).kind != "model":
                # prose named by a name its text does not use ("the key components"): as if the question matched it
                fused[chunks[0].node_id] = UNMATCHED_SHARE * best
            matched = matched or [c.node_id for c in chunks[:1]]
            for node_id in matched:
                nodes.setdefault(node_id, next(c for c in chunks if c.node_id == node_id))
                named.add(node_id)
        for node_id in self.names.title_contains(query_bundle.query_str):
            if node_id in fused:
                named.add(node_id)
        for node_id in named:
            fused[node_id] = fused.get(node_id, 0.0) + self.name_boost
        # Prose that speaks of a named entry ("Models like GPT-3 ... leverage transformer architectures") is evidence
        # on it too, beside its own passage: a smaller boost, for chunks the question matched anyway
        spoken = [re.escape(n) for e in evidence.named_entries for n in self.names.names_of(e) if len(n) > 2]
        mention = re.compile(rf"(?<![\w-])({'|'.join(spoken)})(?![\w-])") if spoken else None
        if mention and RELATION.search(query_bundle.query_str):
            # "What architecture does the article say GPT-3 is built on?": prose that speaks of the named entry tells,
            # even when the question's other words did not match it; other rows ("GPT-J") cannot
            for node_id in list(fused):
                view = NodeView.of(nodes[node_id])
                if view.kind == "model" and view.entry_id not in evidence.named_entries:
                    fused[node_id] *= UNMATCHED_SHARE
            self._pull_in(fused, nodes, UNMATCHED_SHARE * best, lambda c: NodeView.of(c).entry_id not in evidence.named_entries
                          and bool(mention.search(c.get_content())))
        # "What does GPT stand for?": the prose that spells the short name out in brackets ("OpenAI’s GPT (Generative
        # Pre-trained Transformer)"), wherever it is, ranks with the best passage; named entries stay above it
        shorts = asked_short_names(query_bundle.query_str)
        if shorts:
            self._pull_in(fused, nodes, best, lambda c: any(spells_out(x, [c.get_content()], initials=False) for x in shorts))
        for node_id in fused:
            if mention and node_id not in named and NodeView.of(nodes[node_id]).kind != "model" \
                    and mention.search(nodes[node_id].get_content()):
                fused[node_id] += MENTION_BOOST * self.name_boost
        if kinds:  # not a model row or glossary term the question does not name
            for node_id in fused:
                view = NodeView.of(nodes[node_id])
                if view.kind not in kinds and view.entry_id not in evidence.named_entries:
                    fused[node_id] *= UNMATCHED_SHARE
        ranked = sorted(fused, key=fused.__getitem__, reverse=True)[: self.top_k]
        return [self._with_evidence(nodes[i], fused[i], evidence, i in named) for i in ranked]

    def _pull_in(self, fused: dict[str, float], nodes: dict[str, TextNode], score: float,
                 wanted: Callable[[TextNode], bool]) -> None:
        """Every prose chunk `wanted` holds is retrieved with at least `score`, whether or not the question matched it."""
        for chunk in self.prose:
            if wanted(chunk):
                fused[chunk.node_id] = max(fused.get(chunk.node_id, 0.0), score)
                nodes.setdefault(chunk.node_id, chunk)

    def with_top_k(self, top_k: int) -> HybridRetriever:
        """This retriever returning `top_k` passages (a shallow copy: the shared one is never changed)."""
        other = copy.copy(self)
        other.top_k = top_k
        return other

    @staticmethod
    def _with_evidence(node: TextNode, score: float, evidence: Evidence, named: bool) -> NodeWithScore:
        """A copy of the node carrying its raw scores, for the answerability gate downstream."""
        signals = {Key.VECTOR_SCORE: evidence.vector_scores.get(node.node_id, 0.0),
                   Key.BM25_SCORE: evidence.bm25_scores.get(node.node_id, 0.0), Key.NAMED: named}
        return NodeWithScore(node=with_metadata(node, **signals), score=score)


@dataclass
class IndexSnapshot:
    """The index content read once at start: nodes, names and the fingerprint that keys caches."""

    nodes: list[TextNode]
    fingerprint: str

    @classmethod
    def load(cls, store: Store) -> IndexSnapshot:
        from assistant.ingest import fingerprint

        ids, texts, metas = store.documents()
        nodes = []
        for node_id, text, meta in zip(ids, texts, metas, strict=True):
            meta = {k: v for k, v in meta.items() if not k.startswith("_")}
            hidden = list(meta)
            nodes.append(TextNode(id_=node_id, text=text, metadata=meta,
                                  excluded_embed_metadata_keys=hidden, excluded_llm_metadata_keys=hidden))
        # The material's order (then files, chunk by chunk), whatever order the store returns: lists
        # such as "which models generate speech?" follow the table, and ties break the same way on every machine.
        views = {n.node_id: NodeView.of(n) for n in nodes}
        nodes.sort(key=lambda n: (views[n.node_id].origin != "knowledge", views[n.node_id].origin,
                                  views[n.node_id].position, views[n.node_id].chunk, n.node_id))
        stored = store.metadata.get("fingerprint", "")
        meta_by_id = {n.node_id: n.metadata for n in nodes}
        return cls(nodes=nodes, fingerprint=stored if stored and stored != "dirty" else fingerprint(meta_by_id))

    def _sections(self) -> list[tuple[int, str]]:
        """(position, entry id) of the material's own sections, in the material's order."""
        return sorted((v.position, v.entry_id) for v in map(NodeView.of, self.nodes)
                      if v.origin == "knowledge" and v.kind == "section")

    def subject(self) -> str:
        """What the whole material is about: its opening section's title up to a dash or colon ("Generative AI –
        All you need to know" -> "Generative AI"); '' without sections."""
        sections = self._sections()
        titles = {v.entry_id: v.title for v in map(NodeView.of, self.nodes)}
        return re.split(r"\s+[–—-]\s+|:\s", titles[sections[0][1]], maxsplit=1)[0].strip() if sections else ""

    def nodes_by_entry(self) -> dict[str, list[TextNode]]:
        out: dict[str, list[TextNode]] = {}
        for node in self.nodes:
            out.setdefault(NodeView.of(node).entry_id, []).append(node)
        return out

    def names_by_entry(self) -> dict[str, list[str]]:
        """Each entry's names; an entry under a heading that groups only a few entries of the material is also
        named by that heading and its head ("Key Components of Generative AI", "Key Components"): "the two key
        components" are Generative Models and Training Data."""
        out: dict[str, list[str]] = {}
        groups: dict[str, set[str]] = {}
        for node in self.nodes:
            view = NodeView.of(node)
            if view.names:
                out.setdefault(view.entry_id, list(view.names))
            if view.origin == "knowledge" and view.kind in ("concept", "glossary") and view.section:
                groups.setdefault(view.section, set()).add(view.entry_id)
        for heading, members in groups.items():
            if 2 <= len(members) <= MAX_GROUP:
                head = re.split(r"\s+(?:of|in|for|on)\s+", heading, maxsplit=1)[0]
                for entry_id in members & out.keys():
                    out[entry_id] += [n for n in dict.fromkeys([heading, head]) if n not in out[entry_id]]
        # "Symbolic AI in Generative Models" is "symbolic AI": a title set in the material's own field is named by what
        # it sets there, unless that is another entry's name ("Transfer Learning in Generative AI": Transfer Learning)
        field = {w for w in normalize(self.subject()).split() if len(w) > 2}
        taken = {normalize(n) for names in out.values() for n in names}
        titles = {v.entry_id: v.title for v in map(NodeView.of, self.nodes) if v.origin == "knowledge" and v.kind != "model"}
        for entry_id, title in titles.items():
            set_in = re.match(r"^(?P<x>.+?)\s+in\s+(?P<y>.+)$", title)
            plain = normalize(re.sub(r"\s*\(.*?\)", "", set_in.group("x"))) if set_in else ""
            if set_in and field & set(normalize(set_in.group("y")).split()) and plain not in taken \
                    and normalize(set_in.group("x")) not in taken and entry_id in out:
                out[entry_id].append(set_in.group("x"))
        # "the article's conclusion", "the introduction": the material's last and first sections
        sections = self._sections()
        if sections:
            for (_, entry_id), said in ((sections[-1], _CLOSING), (sections[0], _OPENING)):
                out[entry_id] = out.get(entry_id, []) + [n for n in said if n not in out.get(entry_id, [])]
        return out


def build_retriever(store: Store, embed_model: BaseEmbedding, data_dir: Path, top_k: int,
                    snapshot: IndexSnapshot | None = None) -> HybridRetriever:
    """The project's retriever over a store (BM25 loaded or built once here, never per query)."""
    snapshot = snapshot or IndexSnapshot.load(store)
    vector_store = ChromaVectorStore(chroma_collection=store.collection)
    index = VectorStoreIndex.from_vector_store(vector_store, embed_model=embed_model)
    vector = index.as_retriever(similarity_top_k=top_k)
    bm25 = load_bm25(store, data_dir, snapshot.fingerprint, snapshot.nodes, top_k)
    titles = {n.node_id: NodeView.of(n).title for n in snapshot.nodes}
    texts = {entry: " ".join(n.get_content() for n in chunks) for entry, chunks in snapshot.nodes_by_entry().items()}
    kinds = {NodeView.of(n).entry_id: NodeView.of(n).kind for n in snapshot.nodes}
    names = NameIndex(snapshot.names_by_entry(), titles, texts, kinds)
    return HybridRetriever(vector, bm25, names, snapshot.nodes_by_entry(),
                           embed_model, top_k=top_k)
