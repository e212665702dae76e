"""Structured questions over the model table: "Which models did NVIDIA create?",
"Which models generate audio?", "Which models have 'GPT' in their name?" — answered by filtering
the rows' ``creator``, ``generates`` and name fields, so every matching row is listed (similarity
search would miss some).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.stages import Key, NodeView, intent_of, with_metadata
from assistant.text import (
    SET_ASIDE,
    asking_clause,
    content_words,
    is_field_word,
    name_words,
    normalize,
    singular,
    stem,
    without_where,
)

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

_LIST_NOUN = (r"(models?|systems?|tools?|ais|ones|entry|entries|networks|generators|frameworks|technologies|products|"
              r"projects|rows)")
# A question asks for rows when it says "list", asks which/what <...> models, "how many models",
# "models made by ...", "what else did X make", or "all/other models".
_LIST_INTENT = re.compile(
    # "list" the verb, not the noun: "What does the concepts list mean by Image to Image?" asks for no rows
    r"\b((?<!the )(?<!this )(?<!that )(?<!its )(?<!a )(?<!concepts )(?<!concept )(?<!numbered )(?<!ideas )(?<!'s )"
    r"(?<!same )list|enumerate)\b"
    r"|\b(which|what) row\b"  # "Which row in the table is listed for 'Code Generation'?"
    # (not "which role does the model play?": a verb between asks something of the model, not for models)
    rf"|\b(which|what)\b(?:\s+(?!(?:does|do|did|is|are|was|were|can|could|will|would|should)\b)[\w&'-]+){{0,4}}?"
    rf"\s+{_LIST_NOUN}\b"
    rf"|\bhow many\b(?:\s+[\w&'-]+){{0,3}}?\s+{_LIST_NOUN}\b"
    rf"|\b{_LIST_NOUN}\s+(made|created|developed|built|released|trained|by|from|that|which)\b"
    r"|\bwhat else\b|\b(all|any|other|some)\s+(?:[\w&'-]+\s+)?(models|systems|tools|makers|generators|rows|entries)\b"
    # "Name the speech models", "Give me all the image classification models", "Show me every NVIDIA model"
    rf"|\b(name|give me|show me|tell me|find)\b(?:\s+[\w&'-]+){{0,4}}?\s+{_LIST_NOUN}\b"
    # "What has NVIDIA built?", "What did Meta release?", "EleutherAI's models"
    r"|\bwhat (has|have|did|does|do) [\w&'-]+( [\w&'-]+)? (build|built|make|made|create|created|develop|developed|"
    r"release|released|produce|produced|have|put out|ship|shipped|launch|launched|publish|published|roll(ed)? out)\b"
    r"|\b[\w-]+['’]s (models|systems|tools|entries)\b"
    # "Does the table list anything from Google Research?", "Does Facebook AI have an image model in the table?"
    r"|\b(anything|something)( in the (model )?table| listed)? (from|by|made by|credited to|attributed to|for)\b"
    # "What does the table credit to Google Brain?", "What is attributed to Meta?"
    r"|\bwhat (does|do) the (model )?table (credit|attribute|assign)s? to\b|\bwhat('s| is| are)? (credited|attributed) to\b"
    rf"|^(does|do|did|has|have) [\w&'-]+( [\w&'-]+)? (have|make|list) (an?|any)\b(?:\s+[\w&'-]+){{0,3}}?\s+{_LIST_NOUN}\b"
    # "Did Microsoft also make anything for speech?"
    r"|^(did|does|has|have) [\w&'-]+( [\w&'-]+)?( also)? (build|make|create|develop|release|produce)\w* (anything|any)\b")
# A question whether the table has something: "Is there an OCR tool in the table?", "Does the table have anything for ...?"
_EXISTS = re.compile(r"^(is|are) (there|any)\b|\b(anything|something)\b|\b(does|do) the (model )?table (have|list|include)\b"
                     # "does Carnegie Mellon University show up anywhere else in the table?"
                     # (not "Bart shows up in the table — which organisation made it?", which asks of the row)
                     r"|\b(which|what|does|do|did|is|are)\b.{0,60}\b(show|turn|crop) up\b"
                     r"|\b(appear|appears|feature|features)\b.{0,40}\b(else|elsewhere|again)\b"
                     # "Does Hugging Face have an image generator in the table?", "did OpenAI also make an image-only model?"
                     # (bounded gaps: two unbounded ones cost quadratic time on a long message)
                     r"|^(does|do|did|has|have)\b.{0,80}?\b(have|has|make|made|offer|build|built|create|created|release|"
                     r"released)\b.{0,80}?\b(generators?|models?|entr(y|ies)|rows?|systems?|tools?)\b")
# Everyday words for what the table's Generates cells call otherwise
_TABLE_WORD_FOR = {"picture": "image", "photo": "image", "drawing": "image", "illustration": "image", "artwork": "image",
                   "song": "music", "tune": "music", "footage": "video", "movie": "video", "film": "video",
                   "voice": "speech", "program": "code", "programming": "code", "sound": "audio"}


def table_word(word: str) -> str:
    """The table's word for an everyday one ("picture" -> "image"), else the word itself (singular)."""
    return _TABLE_WORD_FOR.get(singular(word), word)


_CONTRAST = re.compile(r"\s*,?\s*\b(rather than|instead of)\b[^,;?.!]*([?.!]?)", re.I)
# "Is there any row in the model table where the creator column is left empty?", "... has no creator listed?"
_NO_CREATOR = re.compile(r"\b(no|without( an?| any)?|empty|missing|blank|unlisted|unnamed)\s+"
                         r"(creator|maker|company|developer)s?\b|\b(creator|maker|company|developer)s?\s+((column|cell|field)\s+)?((is|was|are|were)\s+)?"
                         r"(\w+\s+)?(left\s+)?(empty|blank|missing|unlisted|not (listed|given|named|stated))\b", re.I)
# "How many times does BEiT appear in the table?", "Is Whisper listed more than once?"
_APPEARS = re.compile(r"\bhow many times\b|\bmore than once\b|\btwice\b|\bduplicat\w*|\b(appear|appears|listed|occur|occurs) "
                      r"(again|twice|two times|several times)\b")


# The table as the place to look: "Is there anything in the table for ...", "Which entry in the table is listed as ..."
_IN_THE_TABLE = re.compile(r"\b(in|from|on) the (model |models |ai models )?table\b|\blisted (as|for)\b"
                           r"|\bthe (model |models )?table (list|lists|have|has|include|includes|contain|contains)\b")


def asks_the_table(question: str) -> bool:
    """Whether the question looks in the model table ("Is there something in the model table for that?")."""
    return bool(_IN_THE_TABLE.search(normalize(question)))


# How close (cosine, the index's embedding model) a description must come to a Generates cell to stand for it:
# on dev, descriptions of a row's output scored 0.585-0.73 against its cell ("detecting human body poses" ->
# "Body, Face, & Hand Keypoints Detection", "a text adventure where the AI narrates" -> "Interactive Text"), the
# nearest wrong cells at most 0.54 ("speech-to-text" -> "Speech"). 0.57 changed only two dev questions, both to the
# right row; 0.6 missed the text adventure.
DESCRIBED_MIN_SIMILARITY = 0.57
FEW_ROWS = 5  # whether the table has "a translation model" is asked of a few rows, not of every text generator


def _says(text: str, name: str) -> bool:
    """Whether normalised `text` holds `name` as a whole word."""
    return bool(name) and re.search(rf"(?<![\w-]){re.escape(normalize(name))}(?![\w-])", text) is not None


def _quoted(question: str) -> set[str]:
    """What the question puts in quotes, normalised ("Which rows give 'Various' as the creator?" -> various)."""
    return {normalize(q) for q in re.findall(r"['\"‘“]([^'\"‘’“”]{2,40})['\"’”]", question)}


# "Which models have 'Transformer' in their name?", "rows whose name contains GPT": a filter on the Name cell
_NAME_HOLDS = re.compile(
    r"\b(?:with|have|has|having|contains?|containing|includes?|including|carry|carries|carrying|uses?|using)\s+"
    r"(?:the\s+(?:word|string|term|text)\s+)?['\"‘“]?(?P<x>[\w.·&+-]{2,30}?)['\"’”]?\s+(?:somewhere\s+|anywhere\s+)?in\s+"
    r"(?:their|its|the)\s+(?:own\s+)?names?\b"
    r"|\bnames?\s+(?:contains?|containing|includes?|including|mentions?)\s+"
    r"(?:the\s+(?:word|string|term|text)\s+)?['\"‘“]?(?P<y>[\w.·&+-]{2,30}?)['\"’”]?(?=[\s?.!,]|$)"
    # "Which GPT-named rows come from somewhere else?"
    r"|\b(?P<z>[A-Za-z][\w.·&+]{1,20})-named\s+(?:rows?|models?|entries|ones|systems?|tools?)\b", re.I)


def is_list_question(question: str) -> bool:
    """Whether a question asks for a list ("Which models did NVIDIA create?"), whatever it lists."""
    return bool(_LIST_INTENT.search(normalize(question)))


# Words that never identify a creator (or an output type) on their own.
_WEAK = {"creator": frozenset({"ai", "now", "open", "source", "research", "model", "various", "multiple", "contributor"}),
         # "learning models" are machine-learning models, not DINO's "Self-supervised Learning"
         "generates": frozenset({"model", "various", "general", "purpose", "multi-modal", "unified", "multitask", "learning"})}
_GENERIC_HEAD = frozenset({"generation", "generations"})
# Words a list question may use besides field words and values: they ask about the table, not about a topic.
_TABLE_WORDS = frozenset({"table", "article", "listed", "list", "mentioned", "other", "else", "all", "also", "both", "kind",
                          "kinds", "type", "types", "ai", "generative", "name", "names", "known", "many", "number", "company",
                          "companies", "lab", "labs", "organization", "organisation", "organizations", "organisations",
                          "content", "data", "thing", "things", "something", "anything", "able", "can", "could", "any", "ones",
                          # verbs and phrases for generating several outputs: "handles text, images and audio at once"
                          "handle", "handles", "handling", "support", "supports", "process", "processes", "deal", "deals",
                          "take", "takes", "taking", "accept", "accepts", "accepting", "need", "needs", "want", "wants",
                          "once", "together", "simultaneously", "same", "time",
                          # asking for the rows: "Give me every model the table attributes to Google"
                          "give", "show", "every", "each", "attribute", "attributes", "attributed", "whole", "full",
                          "credit", "credits", "credited", "everything", "itself", "themselves",
                          # "List every row the table tags for classifying images, plus who made each"
                          "tag", "tags", "tagged", "plus",
                          # "does Carnegie Mellon University show up anywhere else in the table?"
                          "up", "anywhere", "elsewhere", "again", "among", "counting", "one",
                          # other words for making one: "what else did DeepMind put out / ship / launch?"
                          "ship", "shipped", "launch", "launched", "publish", "published"})


def _asked_words(text: str) -> tuple[list[str], list[str]]:
    """A (normalised) question's words in the table's vocabulary, and those with the parts of hyphenated ones."""
    # "text-to-speech models" asks for what they generate: speech
    words = [singular(re.sub(r"'s$", "", re.sub(r"^[a-z]+-to-([a-z]+)$", r"\1", w))) for w in content_words(text)]
    words = [table_word(w) for w in words]  # "picture makers" asks for rows that generate images
    # "image-classification models" asks for the category "image classification"
    return words, words + [singular(p) for w in words if "-" in w for p in w.split("-") if p]


def _asked_word(word: str, asked: list[str]) -> bool:
    """Whether a word of a Generates category is among the question's words, as written or in another form of the
    same word ("classifying images" asks for "Image Classification"); a generic head ("generation") only as written."""
    if word in asked:
        return True
    if word in _GENERIC_HEAD or is_field_word(word):
        return False
    own = stem(word)
    return any(min(len(own), len(other)) >= 5 and (own.startswith(other) or other.startswith(own))
               for other in map(stem, asked))


def _initials(creator: str) -> str:
    """The initials of a creator of two or more words ("Carnegie Mellon University" -> "cmu"); "" for one word."""
    words = re.findall(r"[A-Za-z]+", creator)
    return "".join(w[0] for w in words).lower() if len(words) > 1 else ""


def _parts(generates: str) -> list[list[str]]:
    """The output categories of a row: "Text from Images" -> [["text"]], "Image & Text" -> [["image"], ["text"]]."""
    head = re.split(r"\bfrom\b", normalize(generates))[0]
    return [[singular(w) for w in content_words(part)] for part in re.split(r"[,&()/]|\band\b", head) if content_words(part)]


def _heads(generates: str) -> set[str]:
    """Words that name what a row generates: each category's head noun ("Transcribed Text" -> text,
    "Image Generation" -> image), and every word of one-word categories."""
    heads = set()
    for words in _parts(generates):
        words = [w for w in words if w not in _GENERIC_HEAD] or words
        heads.add(words[-1])
    return heads


@dataclass
class TableMatch:
    """Rows selected by creator and/or output filters, and what was asked for."""

    creator: str  # the creator asked for, as the table writes it ("" when none)
    output: str  # the output asked for, as the question words it ("" when none)
    nodes: list[TextNode]
    name: str = ""  # what the rows' names hold, as the question writes it ("" when not asked)
    what: str = ""  # what the rows share when no creator, output or name says it ("whose creator cell is empty")
    missing: str = ""  # the output asked for that none of the creator's rows generates ("image")

    @property
    def field(self) -> str:
        """The filtered fields: "creator", "generates", "name" or several, comma-separated; "row" for a property
        of whole rows (`what`)."""
        return ",".join(f for f, v in (("creator", self.creator), ("generates", self.output), ("name", self.name),
                                       ("row", self.what)) if v)

    @property
    def value(self) -> str:
        return " and ".join(v for v in (self.output, self.creator, self.name, self.what) if v)


class ModelTable:
    """The model rows of the index with their fields, filterable by creator and output type; with an embedding
    model, also by an output described in other words ("anything in the table for detecting body poses?")."""

    def __init__(self, nodes: list[TextNode], embed_model: BaseEmbedding | None = None):
        self.rows = [n for n in nodes if NodeView.of(n).kind == "model"]
        self.embed_model = embed_model
        self._cell_vectors: Any = None  # the Generates cells' embeddings, made on first use
        # a creator the table also writes as its initials ("Carnegie Mellon University", "Google Brain & CMU"): the
        # initials stand for its words, so a question naming either finds both rows
        full = {NodeView.of(r).field("creator") for r in self.rows}
        self.initials = {a: self._tokens(c) for c in full for a in [_initials(c)]
                         if a and any(a in self._tokens(o) for o in full if o != c)}
        self.creator_tokens = {r.node_id: self.spelled_out(self._tokens(NodeView.of(r).field("creator"))) for r in self.rows}
        self.output_heads = {r.node_id: _heads(NodeView.of(r).field("generates")) - _WEAK["generates"] for r in self.rows}
        self.output_words = {w for r in self.rows for part in _parts(NodeView.of(r).field("generates")) for w in part}
        self.creator_vocab = set().union(*self.creator_tokens.values(), self.initials) if self.rows else set()
        self.head_vocab = set().union(*self.output_heads.values()) if self.rows else set()
        self.output_vocab = (self.head_vocab | self.output_words) - _WEAK["generates"]  # words that name an output
        creators = sorted({NodeView.of(r).field("creator") for r in self.rows}, key=len, reverse=True)
        self.creators = creators  # longest first: "Google Research" is found before "Google"
        # creators only their full name tells apart: "Google Research" (its "research" identifies no one) beside "Google"
        self.told_apart_in_full = {c for c in creators if set(content_words(c)) & _WEAK["creator"]
                                   and any(o != c and self._tokens(o) == self._tokens(c) for o in creators)}
        self.title_words = {w for r in self.rows for w in content_words(NodeView.of(r).title)}
        # names of several words, one of them a creator's ("OpenAI Five", "DeepMind Lab"), normalised, longest first
        self.compound_titles = sorted({normalize(NodeView.of(r).title) for r in self.rows
                                       if len(content_words(NodeView.of(r).title)) > 1
                                       and {singular(w) for w in content_words(NodeView.of(r).title)} & self.creator_vocab},
                                      key=len, reverse=True)
        titles = Counter(normalize(NodeView.of(r).title) for r in self.rows)
        self.repeated = [r for r in self.rows if titles[normalize(NodeView.of(r).title)] > 1]  # BEiT's two rows
        self.creator_words = {singular(w) for c in creators for w in content_words(c)}  # "Research" of "Zalando Research"
        # the Generates cells, longest first: "Image & Text" is found before "Image"
        self.cells = sorted({NodeView.of(r).field("generates") for r in self.rows} - {""}, key=len, reverse=True)

    def spelled_out(self, words: set[str]) -> set[str]:
        """Creator words with initials the table uses replaced by the words they stand for ({"cmu"} -> {"carnegie",
        "mellon"})."""
        return set().union(*(self.initials.get(w, {w}) for w in words)) if words else set()

    def _creator_name(self, hit: set[str]) -> str:
        """The table's own spelling of the creator asked for: the shortest creator holding every hit word, written out
        ("Carnegie Mellon University" for "CMU") before one holding them only through its initials."""
        hit = self.spelled_out(hit)
        names = sorted({NodeView.of(r).field("creator") for r in self.rows if hit <= self.creator_tokens[r.node_id]},
                       key=lambda c: (not hit <= self._tokens(c), len(c)))
        return names[0] if names else " ".join(sorted(hit))

    def _creators_named(self, hit: set[str]) -> list[str]:
        """The table's creators whose every word the question names, in table order, none twice
        ("Hugging Face and EleutherAI" -> ["Hugging Face", "EleutherAI"])."""
        named: list[str] = []
        for row in self.rows:
            creator, tokens = NodeView.of(row).field("creator"), self.creator_tokens[row.node_id]
            if tokens and tokens <= hit and creator not in named:
                named.append(creator)
        # "Meta AI (Facebook AI)" also holds "Facebook AI"'s words: keep the creators no other one contains
        return [c for c in named if not any(c != o and self._tokens(c) < self._tokens(o) for o in named)]

    @staticmethod
    def _in_order_asked(creators: list[str], text: str) -> list[str]:
        """`creators` in the order the (normalised) question names them, so that "the first one" after "credit to
        Latitude and to Jasper AI" is Latitude's row; a creator not found as written keeps its place at the end."""
        def place(creator: str) -> int:
            hits = [m.start() for w in sorted(ModelTable._tokens(creator), key=len, reverse=True)
                    for m in [re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)] if m]
            return min(hits) if hits else len(text)
        return sorted(creators, key=place)

    def _creator_as_written(self, question: str) -> str:
        """A creator quoted as the table writes it ("Which rows give 'Various' as the creator?"), or named in full
        where only its full name tells it from another ("Google Research", not every Google row); "" when none is."""
        quoted, text = _quoted(question), normalize(question)
        return next((c for c in self.creators if normalize(c) in quoted or c in self.told_apart_in_full and _says(text, c)), "")

    def _output_as_written(self, question: str) -> str:
        """An output quoted as the table writes it ("have 'Image' as their output"), or a cell of several
        categories written out letter for letter ("listed as producing Image & Text"); "" when none is."""
        quoted = _quoted(question)
        return next((g for g in self.cells if normalize(g) in quoted
                     or re.search(r"[&,]", g) and re.search(rf"(?<![\w-]){re.escape(g)}(?![\w-])", question)), "")

    @staticmethod
    def _tokens(creator: str) -> set[str]:
        """The words that identify a creator ("Meta AI (Facebook AI)" -> meta, facebook)."""
        return {singular(w) for w in content_words(creator)} - _WEAK["creator"]

    def _best_outputs(self, rows: list[TextNode], hit: set[str], asked: set[str], either: bool) -> list[TextNode]:
        """Rows whose output the question names: a head word counts two, another word of the category one;
        only the best-scoring rows are kept ("images and text" -> rows that generate both; "the board
        game Go" -> AlphaGo, not every game player), unless the question says "or"."""
        scored = []
        for row in rows:
            heads = self.output_heads[row.node_id] & hit
            words = {w for part in _parts(NodeView.of(row).field("generates")) for w in part}
            if heads or words & hit:  # "games" names "Game Strategies" and "Real-time Strategy Game Play"
                scored.append((2 * len(heads) + len((words - heads) & asked), row))
        if either or not scored:
            return [row for _, row in scored]
        best = max(score for score, _ in scored)
        return [row for score, row in scored if score == best]

    def match(self, question: str) -> TableMatch | None:
        """Rows the question enumerates, or None when it is not a list question over the table: the rows
        its words select (see `match_words`), else those whose output it describes in words of its own."""
        found = self.match_words(question)
        asked = asking_clause(question)  # "I want something that writes programs. Which rows have code ...?"
        if found is None and asked != question:
            found = self.match_words(asked)
        return found or self.match_described(question)

    def match_described(self, question: str) -> TableMatch | None:
        """ "Is there anything in the table for detecting human body poses?": the rows of the one Generates cell
        the question describes, when it asks what the table has and its words name no field value. None without an
        embedding model, or when no cell comes within DESCRIBED_MIN_SIMILARITY."""
        text = normalize(question)
        if self.embed_model is None or not self.cells or not _IN_THE_TABLE.search(text) \
                or not (_EXISTS.search(text) or _LIST_INTENT.search(text)):
            return None
        import numpy as np

        if self._cell_vectors is None:
            self._cell_vectors = np.array(self.embed_model.get_text_embedding_batch(self.cells), dtype=np.float32)
        asked = np.array(self.embed_model.get_query_embedding(without_where(question)), dtype=np.float32)
        similarity = self._cell_vectors @ asked
        best = int(similarity.argmax())
        if similarity[best] < DESCRIBED_MIN_SIMILARITY:
            return None
        cell = self.cells[best]
        rows = [r for r in self.rows if NodeView.of(r).field("generates") == cell]
        return TableMatch(creator="", output=cell, nodes=rows)

    def match_words(self, question: str) -> TableMatch | None:
        """Rows the question enumerates by its words, or None when it is not a list question over the table.

        Two filters on the Name cell come first: how often a named model appears ("How many times does
        BEiT appear?") and what the names hold ("Which models have 'GPT' in their name?"). Otherwise a list
        question asks for a list (see ``_LIST_INTENT``), names a creator and/or an output type of the
        table (quoted or written out as the table writes it: that very cell), and says nothing else: at
        most one of its content words is neither a field word, a value of the table nor a word about the
        table ("Which loss function do learning models use?" is not a table question even though
        "learning" is an output type)."""
        text = normalize(question)
        if _APPEARS.search(text):  # "How many times does BEiT appear in the table?": the rows of that name
            named = [NodeView.of(r).title for r in self.rows if _says(text, re.sub(r"\s*\(.*\)", "", NodeView.of(r).title))]
            if named:
                return self._named_like(min(named, key=len))
            # "Which model name shows up twice in the table?": the rows whose name is another row's too
            if self.repeated and re.search(r"\b(which|what|any|is there|are there)\b", text):
                return TableMatch(creator="", output="", nodes=self.repeated, what="whose name appears more than once")
        if _NO_CREATOR.search(question):  # "Is there any model in the table with no creator listed?"
            rows = [r for r in self.rows if not NodeView.of(r).field("creator").strip()]
            return TableMatch(creator="", output="", nodes=rows, what="whose creator cell is empty") if rows else None
        held = _NAME_HOLDS.search(question)  # a filter on the names is a list request of its own
        if held:
            part = held.group("x") or held.group("y") or held.group("z")
            found = self._named_like(part)
            # "Which of the GAN-named rows come from NVIDIA?": the creator named too filters them
            hit = {singular(re.sub(r"'s$", "", w)) for w in content_words(normalize(question))} & self.creator_vocab \
                - {singular(w) for w in content_words(normalize(part))}
            made = [r for r in found.nodes if self.spelled_out(hit) <= self.creator_tokens[r.node_id]] if found and hit else []
            if made:
                return TableMatch(creator=self._creator_name(hit), output="", nodes=made, name=part)
            return found
        # "... that make images rather than classify them?": what the rows are contrasted with is no filter
        question = _CONTRAST.sub(lambda m: m.group(2) or "", question)
        text = normalize(question)
        listing = _LIST_INTENT.search(text)
        exists = _EXISTS.search(text)  # "Is there an OCR tool in the table?": a list of the rows with that in their names
        if not (listing or exists):
            return None
        # "Which models other than AlphaStar generate ...", "Apart from its game-playing systems, what else ...": what is
        # set aside is no filter, and the rows it names or describes are not listed
        asides = list(SET_ASIDE.finditer(question))
        aside = " ".join(normalize(m.group(0)) for m in asides)
        # a clause of its own, before a comma ("Apart from X, ..."), is left out; one running to the end may hold
        # the filter itself ("other than AlphaStar generate Real-time Strategy Game Play?")
        clauses = [m for m in asides if m.group(2) in (",", ";")]
        kept = normalize(SET_ASIDE.sub(lambda m: " " if m.group(2) in (",", ";") else m.group(0), question))
        # the rows it sets aside are named there, and their names are no filter: "OpenAI" of "other than OpenAI Five"
        aside_titles = {NodeView.of(r).title for r in self.rows if _says(aside, NodeView.of(r).title)}
        for title in sorted(aside_titles, key=len, reverse=True):
            kept = re.sub(rf"(?<![\w-]){re.escape(normalize(title))}(?![\w-])", " ", kept)
        kept = re.sub(r"\b(in general|in particular|specifically|as such)\b", " ", kept)  # how, not what, is asked
        kept = re.sub(r"\b(put|puts|putting|roll|rolls|rolled|rolling)\s+out\b", "released", kept)  # "what did DeepMind put out?"
        words, asked = _asked_words(kept)
        # a creator's word inside a model's name is no creator asked for: "OpenAI" of "What does the table list OpenAI
        # Five as producing?" (a one-word name is left alone: "Jasper" is also the start of "Jasper AI")
        unnamed = kept
        for title in self.compound_titles:
            unnamed = re.sub(rf"(?<![\w-]){re.escape(title)}(?![\w-])", " ", unnamed)
        creator_hit = self.spelled_out({w for w in _asked_words(unnamed)[1] if w in self.creator_vocab})
        # A category of two or more words named whole ("image classification") is asked for as a whole.
        whole = {" ".join(p) for r in self.rows for p in _parts(NodeView.of(r).field("generates"))
                 if len(p) > 1 and all(_asked_word(w, asked) for w in p)}
        # the most specific categories named: "real-time strategy game play" holds "game strategy" too
        whole = {w for w in whole if not any(set(w.split()) < set(o.split()) for o in whole)}
        output_hit = {w for w in asked if w in self.head_vocab} - creator_hit
        if not output_hit:  # no category named by its head: a distinctive word of one ("games", "protein")
            output_hit = {w for w in asked if w in self.output_words - self.head_vocab} - creator_hit - _WEAK["generates"]
        written = self._creator_as_written(question)
        # "Are any universities credited in the model table?": whether it has rows of a creator asks for them
        # "Is there a translation model in the table?": whether it has rows of an output asks for them too
        of_output = bool(output_hit) and (re.search(rf"\b{_LIST_NOUN}\b", text) is not None
                                          # "Is there anything in the table that generates sound?"
                                          or re.search(r"\b(anything|something)\b.*\b(generat|produc|make|output|creat)", text)
                                          is not None)
        by_output_alone = of_output and not (listing or creator_hit or written)
        if not (creator_hit or output_hit or written) or not (listing or exists and (creator_hit or written or of_output)):
            # "Is there an OCR tool in the model table?": a word of some rows' names, and nothing else unexplained
            titled = [w for w in words if w in self.title_words and not is_field_word(w) and w not in _TABLE_WORDS]
            rest = [w for w in words if w not in titled and w not in _TABLE_WORDS and not is_field_word(w)
                    and not re.fullmatch(_LIST_NOUN, w)]
            if len(titled) != 1 or rest or not exists:
                return None
            as_asked = re.search(rf"(?<![\w-]){re.escape(titled[0])}(?![\w-])", question, re.I)  # "OCR", as written
            name = as_asked.group(0) if as_asked else titled[0]
            # "Is there a row for the Transformer itself?": that name's own row, not every name holding it
            own = [r for r in self.rows if normalize(NodeView.of(r).title) == normalize(name)]
            if own and re.search(rf"{re.escape(name)}\W+(itself|alone|proper|on its own)\b", question, re.I):
                return TableMatch(creator="", output="", nodes=own, name=name)
            return self._named_like(name)
        set_aside = self._set_aside(aside, " ".join(normalize(m.group(0)) for m in clauses)) if aside else []
        explained = creator_hit | output_hit | self.output_words | _TABLE_WORDS | set(content_words(written))
        # ("Among the rows credited simply to 'Google', ...": an adverb says how, not what)
        unexplained = [w for w in words if w not in explained and not is_field_word(w) and not re.fullmatch(_LIST_NOUN, w)
                       and not (w.endswith("ly") and len(w) > 4)
                       and not ("-" in w and all(singular(p) in explained for p in w.split("-") if p))]
        # "What does Meta's Segment Anything model do?": a name of its own, which no row's name holds, is what is asked about
        own_names = set(name_words(question)) - self.title_words - self.creator_words
        if len(unexplained) > 1 or any(w in own_names for w in unexplained):
            return None
        if written:
            rows, creators = [r for r in self.rows if NodeView.of(r).field("creator") == written], []
        else:
            rows = [r for r in self.rows if creator_hit <= self.creator_tokens[r.node_id]]
            creators = self._creators_named(creator_hit) if creator_hit and not rows else []
            # "rows from Meta AI or Facebook AI", "counting Meta AI and Facebook AI as one company": any of them
            either = [r for r in self.rows if self.creator_tokens[r.node_id] and self.creator_tokens[r.node_id] <= creator_hit]
            if len(creator_hit) > 1 and re.search(r"\b(or|either|as one|as the same)\b", text) and len(either) > len(rows):
                rows = either
                creators = list(dict.fromkeys(NodeView.of(r).field("creator") for r in either))
        if len(creators) > 1:  # "the models from Hugging Face and EleutherAI": each creator's rows, in the order asked
            creators = self._in_order_asked(creators, text)
            rows = [r for c in creators for r in self.rows if NodeView.of(r).field("creator") == c]
        made_by = rows if (written or creator_hit) and (whole or output_hit) else []
        if whole:
            rows = [r for r in rows if whole & {" ".join(p) for p in _parts(NodeView.of(r).field("generates"))}]
        elif output_hit:
            rows = self._best_outputs(rows, output_hit, set(asked), either=bool(re.search(r"\b(or|either)\b", text)))
        rows = [r for r in rows if r not in set_aside]
        # "an image-only generator", "models that only generate text": that category alone, not "Image & Text"
        # ("which other rows from that company are plain text too?": the cell "Text" alone)
        only = next((w for w in sorted(output_hit) if re.search(rf"\b{re.escape(w)}s?-only\b|\bonly (generate|produce|make|"
                                                                  rf"output|create)s? {re.escape(w)}|\b(plain|pure|just) "
                                                                  rf"{re.escape(w)}s?\b", text)), "")
        exact = self._output_as_written(question) or next((c for c in self.cells if singular(normalize(c)) == only), "")
        if exact:  # "Which entries have plain 'Image' as their output?": that cell, not "Image & Text"
            rows = [r for r in rows if normalize(NodeView.of(r).field("generates")) == normalize(exact)]
            whole, output_hit = {normalize(exact)}, set()
        creator = written or (" or ".join(creators) if len(creators) > 1 else self._creator_name(creator_hit) if creator_hit
                              else "")
        output = " and ".join(sorted(whole)) if whole else " and ".join(w for w in asked if w in output_hit)
        output = " and ".join(dict.fromkeys(output.split(" and "))) if output else ""
        if not rows and made_by and creator:
            # "Does Hugging Face have an image generator in the table?": no, and what it does have says so
            return TableMatch(creator=creator, output="", nodes=made_by, missing=output)
        if not rows or by_output_alone and len(rows) > FEW_ROWS:
            return None  # "Is there a speech-to-text model?" asks for more than every row that generates text
        return TableMatch(creator=creator, output=output, nodes=rows)

    def _set_aside(self, aside: str, clauses: str) -> list[TextNode]:
        """The rows the set-aside phrases name ("other than AlphaStar"), else those whose output or creator a
        set-aside clause describes ("Apart from its game-playing systems, ...": the rows generating games)."""
        named = [r for r in self.rows if _says(aside, NodeView.of(r).title)]
        if named or not clauses:
            return named
        said = self.spelled_out({singular(re.sub(r"['’]s$", "", p)) for w in content_words(clauses) for p in [w, *w.split("-")]
                                 if p} - _WEAK["generates"])  # ("Google's own rows": Google's)
        return [r for r in self.rows if said & {w for part in _parts(NodeView.of(r).field("generates")) for w in part}
                or self.creator_tokens[r.node_id] and self.creator_tokens[r.node_id] <= said]

    def _named_like(self, part: str) -> TableMatch | None:
        """The rows whose Name cell holds `part`, case aside ("GPT" -> "GPT-3, GPT-4", "GPT-Neo", ...)."""
        rows = [r for r in self.rows if part.casefold() in NodeView.of(r).title.casefold()]
        return TableMatch(creator="", output="", nodes=rows, name=part) if rows else None


class TableRetriever(BaseRetriever):
    """Returns every matching model row for list questions; otherwise defers to another retriever.

    The list filter comes from the query's :class:`~assistant.intent.Intent` when the Assistant read
    it (an :class:`~assistant.stages.AnalyzedQuery`), else from matching the question here."""

    def __init__(self, table: ModelTable, fallback: BaseRetriever):
        super().__init__()
        self.table, self.fallback = table, fallback

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        intent = intent_of(query_bundle)
        found = intent.table if intent is not None else self.table.match(query_bundle.query_str)
        if found is None:
            return self.fallback.retrieve(query_bundle)
        return [NodeWithScore(node=with_metadata(node, **{Key.TABLE_FIELD: found.field, Key.TABLE_VALUE: found.value}),
                              score=1.0) for node in found.nodes]
