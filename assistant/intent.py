"""What a question asks, read before retrieval: its kind, the entries it names, and list filters.

Kinds (:class:`Kind`):
* ``definition`` — "What is X?", "Define X", "What does X mean?" (X named or a short phrase);
* ``creator`` / ``output`` — who made model X, what X generates;
* ``list`` — models filtered by creator and/or output ("Which image models did NVIDIA make?");
* ``compare`` — two or more named entries and a comparing word;
* ``explain`` — how / why / describe / role / purpose questions;
* ``number`` — which number a named concept has in the article's list;
* ``other`` — anything else (paraphrased definitions, open questions).
Deterministic on purpose: the kind decides how the answer is composed, so it must be predictable
and testable, and a 135M model classifies questions unreliably.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from assistant.stages import NodeView
from assistant.text import (
    ORG_NOUN,
    STOPWORDS,
    YES_TAG,
    asking_clause,
    compound_parts,
    content_words,
    is_field_word,
    normalize,
    singular,
    unify,
)

if TYPE_CHECKING:
    from assistant.asks import FieldAsks
    from assistant.retrieval import NameIndex
    from assistant.table import ModelTable, TableMatch


class Kind(StrEnum):
    """What a question asks for; decides how its answer is composed."""

    DEFINITION = "definition"  #: what an entry (or a short term) is
    CREATOR = "creator"  #: who made a named model
    OUTPUT = "output"  #: what a named model generates
    LIST = "list"  #: model-table rows matching a creator and/or output filter
    COMPARE = "compare"  #: how two or more named entries differ or relate
    EXPLAIN = "explain"  #: how / why / describe questions
    NUMBER = "number"  #: the number of a named concept in the article's list
    OTHER = "other"  #: anything else


# Kinds answered from a named entry's own definition or fields; with lists and concept numbers, what is
# answered from the entries themselves when COMPOSE_ANSWERS is on (no LLM call).
ABOUT_NAMED = frozenset({Kind.DEFINITION, Kind.CREATOR, Kind.OUTPUT, Kind.COMPARE})
COMPOSED = ABOUT_NAMED | {Kind.LIST, Kind.NUMBER}


@dataclass(frozen=True)
class Intent:
    """The reading of one (standalone) question."""

    kind: Kind
    subjects: tuple[str, ...] = ()  # entry ids the question names, in order of mention
    term: str = ""  # what an unnamed subject is called: "tokenization" (definitions), "speculative decoding" (how/why);
    # for an output question, the kind of thing a model is asked to be ("game-playing agent") or to make ("pictures")
    table: TableMatch | None = field(default=None, compare=False)  # the rows of a list question
    # a question naming only model rows reads as asking for nothing but their fields (:mod:`assistant.asks`): the
    # rows answer it, whatever words it uses ("If I grouped the rows by who built them, where would LangChain go?")
    asks_fields: bool = False


_COMPARE = re.compile(r"\b(differ\w*|difference\w*|compar\w*|versus|vs\.?|contrast\w*|distinguish\w*|similar\w*|"
                      r"relat(e|es|ed|ion|ionship) (to|between|with)|better than|same (thing |idea |concept )?as|in common|"
                      # "is quantization just another way of doing the same thing (about Knowledge Distillation)?"
                      r"(another|other|a different) (way|method|technique|approach) (of|to|for) (doing |achieving |getting )?"
                      r"the same( thing| job| goal| result)?)\b")
_CREATOR = re.compile(rf"\b(who|whom|whose|which ([\w&-]+ )?({ORG_NOUN}|people|researchers?)|what {ORG_NOUN})\b"
                      r".*\b(creat|made|make|making|develop|buil|behind|"
                      r"put\b.*\btogether|"
                      r"releas|produc|design|own|invent|responsib|train|c[ao]mes? up with|c[ao]mes? from|belong|credit|attribut|"
                      # "Which organisation does the table give for DiffusionBee?"
                      r"(give|gives|list|lists|name|names|put|puts|show|shows) (for|next to|beside|against|alongside))"
                      r"|\b(creator|maker|developer|author|inventor)s? (of|behind)\b"
                      # "Which one mentions Facebook in its creator column?"
                      r"|\b(creator|maker|developer|author)s? (column|cell|field)\b|\bwho('s| is| was) behind\b"
                      # "the organisation behind LangChain"
                      rf"|\b{ORG_NOUN} behind\b"
                      # "GPT-J sounds like an OpenAI name. Is it theirs?", "whose is it?"
                      r"|\b(is|was|are|were) (it|this|that|they|these|those) (really |actually |even )?(theirs|his|hers)\b"
                      # "What about Swin Transformer, is that one Google's too?"
                      r"|\b(is|was|are|were) (it|this|that|they|these|those)( one| ones)? (really |actually |also |even )?"
                      r"[\w-]+['’]s( too| as well| also)?\W*$"
                      r"|\bwhose (is|was|are|were) (it|this|that|they)\b"
                      # "Whose model is it, per the table?", "whose is MiniLM in the table?"
                      r"|^whose( (model|models|project|creation|product|system|tool|thing))? (is|was|are|were)\b"
                      # "Which company is ELECTRA from?", "Do ERNIE and PanGu-α come from the same company?"
                      # ("ELMo: which institute is it from, and what kind of output ...?")
                      rf"|\b(which|what) {ORG_NOUN}\b.*\bfrom(\W*$|\s*,)"
                      # "same creator in the table or not?"
                      rf"|\b((the )?same|one|a single) ([\w&-]+ )?({ORG_NOUN}|creator|maker|developer)\b"
                      # "Do ELECTRA and Tacotron share a creator?"
                      rf"|\bshare (a|the|one|their|any) ([\w&-]+ )?({ORG_NOUN}|creator|maker|developer)s?\b"
                      r"|\b(made|created|developed|built|released) by (whom|who|which|what)\b"
                      # "Fill in the blank: LangChain was created by ___."
                      r"|\b(made|created|developed|built|released|credited) (by|to)(\s*_+)?\W*$"
                      # "who's Tesseract OCR from?", "Who is each from, and what ...?"
                      r"|^who('s| is| are| was| were)\b.*\bfrom\W*$|^who('s| is| are| was| were)( [\w-]+){1,3} from\b"
                      # "Is Midjourney from one of the big tech companies?"
                      r"|^(is|are|was|were) \S.*\bfrom (one of )?(the |a |an )?([\w-]+ ){0,3}"
                      r"(compan|labs?\b|organi[sz]ation|firms?\b|teams?\b|groups?\b|universit|institut)"
                      # "who's AI Dungeon by?" (not "Who is GPT-3 used by?")
                      r"|^who('s| is| are| was| were)\b(?!.*\b(used|adopted|liked|loved|preferred|employed|run|deployed|funded|"
                      r"cited|read|played|trusted)\b).*\bby\W*$")
# Verbs of making in a yes/no question about a model's output: "Does Whisper generate images?", "Does LangChain write code?"
_MAKING_VERB = r"(?:generate|produce|output|synthesi[sz]e|create|make|write|draw|paint|compose|translate)"
_OUTPUT = re.compile(r"\bwhat (does|do|did|can|could|will|would)\b.*\b(generat|produc|creat|output|make|synthes)\w*\b"
                     r"|\bwhat (kind|type|sort)s? of (content|output|data|media|thing)s?\b|\b(output|outputs) of\b"
                     r"|\bwhat is .* used to (generate|produce|create|make)\b|\bwhat('s|s)?\b.* generates?\b"
                     # "What is LangChain listed as producing?", "What's ESPnet listed for?"
                     r"|\bwhat('s| is| are| was| were)\b.*\blisted (as|for)\b"
                     # "Is MuZero listed for game strategies in general or for one particular board game?"
                     r"|^(is|are|was|were) \S.*\blisted (as|for)\b"
                     # "Which kinds of data is it listed for?"
                     r"|\blisted (as|for)\W*$"
                     # "is GauGAN an image generator as well?": a kind of maker named by what it makes
                     r"|^(is|are|was|were) \S.*\b(a|an) ([\w-]+ ){1,2}(generator|maker|producer)s?\b"
                     # "What does the table list it as doing?", "what does its output column say?"
                     r"|^what\b.*\b(list|lists|show|shows|describe|describes|have|has)\b \S+( \S+)? as (doing|being|making|"
                     r"producing|generating|creating|for)\b|\b(output|generates?) (column|cell|field)\b"
                     # "What does the article's model table say it's for?"
                     r"|^what\b.*\b(table|row|list)\b.*\b(it's|it is|its|is \S+|are \S+|they're|they are) "
                     r"(meant |supposed to be |there )?for\W*$"
                     # a yes/no question about a model's output: "Does Whisper generate images?"
                     rf"|^(does|do|did|can|could|will) \S.* {_MAKING_VERB}s?\b")
_ABOUT = re.compile(r"\s*\(about [^()]*(\([^()]*\)[^()]*)*\)\s*\??$")  # the subject followup.condense attaches
# "one that does the same", "something doing the same thing": generating what the entry discussed generates
_SAME_OUTPUT = re.compile(r"\b(that|which|to|for|doing|for doing) (does|do|did|makes?|generates?|produces?|outputs?|doing|"
                          r"making) the same( thing| job| task| kind of (thing|output|stuff))?\b", re.I)
_YES_NO = re.compile(r"^(is|are|was|were|did|does|do|has|have)\b")
_EXPLAIN = re.compile(r"^(how|why)\b|\b(explain|describe|walk me through|what role|purpose|what happens|in what way|"
                      r"advantages?|disadvantages?|benefits?|challenges?|risks?|limitations?|used for|work)\b")
# "What is X?", "What are X?", "Define X", "What does X mean / stand for / refer to?", "Meaning of X", "X?"
_DEFINE = [re.compile(p, re.I) for p in (
    r"^(?:so,?\s+)?(?:what|who)\s+(?:is|are|was|were)\s+(?:an?\s+|the\s+)?(?P<x>.+?)$",
    r"^(?:please\s+)?(?:define|explain|describe)\s+(?:an?\s+|the\s+)?(?P<x>.+?)$",
    r"^what\s+(?:does|do)\s+(?:an?\s+|the\s+)?(?P<x>.+?)\s+(?:mean|stand for|refer to)$",
    r"^what\s+(?:does|do)\s+the\s+(?:article|author|text|glossary)\s+mean\s+by\s+(?:an?\s+|the\s+)?(?P<x>.+?)$",
    r"^(?:what\s+is\s+)?(?:the\s+)?(?:meaning|definition)\s+of\s+(?:an?\s+|the\s+)?(?P<x>.+?)$",
    r"^(?:tell me about|what about|what'?s|what is meant by)\s+(?:an?\s+|the\s+)?(?P<x>.+?)$",
    r"^what\s+(?:kind|type|sort)\s+of\s+\w+\s+(?:is|are)\s+(?:an?\s+|the\s+)?(?P<x>.+?)$",
    # "Is BERT a model or a technique?": what kind of thing X is
    # (not "is there any other loss function in the glossary?": whether there is one)
    r"^(?:is|are)\s+(?!there\b)(?:an?\s+|the\s+)?(?P<x>(?:(?!\s(?:an?|the)\s).)+?)\s+(?:an?|the)\s+[\w-]+"
    r"(?:\s+or\s+(?:an?\s+|the\s+)?[\w-]+)?$",
)]
# A definition's "X" that is really a description ("the technique where ...") is not a term.
_DESCRIPTIVE = re.compile(r"\b(that|which|where|when|who|whose|in which|used|called|for|to|of a|of an|by|based on|"
                          r"made of|made from|about|like)\b")
MAX_TERM_WORDS = 4
_POINTING = {"it", "they", "them", "this", "that", "these", "those", "this one", "that one"}
_WH = re.compile(r"^(what|who|how|why|when|where|which)\b", re.I)
# "How does <topic> work?": the topic ends at the first verb or preposition after it.
_TOPIC = re.compile(r"^(?:how|why|when|where|what|which)\s+(?:\w+\s+)?(?:does|do|did|is|are|was|were|can|could|would|will|"
                    r"should|has|have)\s+(?:an?\s+|the\s+)?(?P<x>.+)$", re.I)
_TOPIC_END = re.compile(r"\b(use|uses|used|work|works|make|makes|help|helps|generate|generates|produce|produces|create|creates|"
                        r"encode|encodes|learn|learns|cut|cuts|speed|compare|differ|differs|handle|handles|get|gets|become|"
                        r"becomes|improve|improves|reduce|reduces|cause|causes|mean|means|affect|affects|relate|relates|play|"
                        r"plays|apply|applies|allow|allows|enable|enables|train|trained|calculate|calculated|compute|"
                        r"computed|decode|store|stored|run|scale|fit|matter|matters|suffer|lead|depend|depends|interact|"
                        r"be|being|been|come|comes|go|goes|released|release|built|developed|made|created|according|listed|"
                        r"mentioned|say|says|said|described|called|known|in|on|for|to|with|from|by|of|at|into|over|and|or|"
                        r"than|like|so|stop|stops|prevent|prevents|keep|keeps|avoid|avoids|turn|turns|change|changes|know|knows|"
                        r"decide|decides|choose|chooses|pick|picks|tell|tells|guide|guides|steer|steers|fix|fixes|solve|solves|"
                        r"need|needs|take|takes|give|gives|find|finds|show|shows|achieve|achieves|manage|manages|put|puts|bring|brings|"
                        r"add|adds|offer|offers|contribute|contributes|"
                        r"when|if|that|which|who|whose|where)\b", re.I)
# What a model's short name stands for, or its other name: both are in its row when the table gives them
_STANDS_FOR = re.compile(r"\b(stands?|stood) for\b|\bshort for\b|\b(acronym|abbreviation)\b|\b(another|other|former|old|"
                         r"original|full) names?\b|\b(also|formerly) (known|called)\b|\brenamed\b|\bgo(es)? by\b", re.I)
# A question about a model's row in the table: "What is the ViT row about?", "What does the table say about BLOOM?"
_ROW = re.compile(r"\b(row|rows|table|listing|listed)\b")
# (a place in the list, not where to look: "What does Controlnet do, according to the numbered concepts?")
_NUMBER_Q = re.compile(r"\b(which|what) (concept )?number\b|\bnumbered\b(?! (concepts?|list|ideas?|items?|points?)\b)"
                       r"|\bnumber (does|is|has)\b|\b(which|what) (position|place|spot|rank)\b|\bposition (does|is|has)\b", re.I)


# Words that ask for a model row's fields (who made it, what it generates) rather than about a topic;
# "generative" and "production" are no such words.
_FIELDS_ASKED = re.compile(r"\b(who|whom|whose|creat(e|ed|es|or|ors)|made|make|maker|develop(ed|er|ers)?|behind|"
                           r"compan(y|ies)|lab|organi[sz]ations?|generates?|generated|produces?|produced|outputs?|table|listed)\b"
                           r"|\b(built|build)\b(?!\s+(on|upon|around|into)\b)", re.I)  # "built on" asks what it rests on


def asks_about_fields(question: str) -> bool:
    """Whether a question asks who made something or what it generates (a model row's fields)."""
    return bool(_FIELDS_ASKED.search(question))


def definition_term(text: str) -> str:
    """The thing a definition question asks about, or '' when the question is not a plain definition."""
    question = unify(text).rstrip(" ?.!")
    # The definition may follow a lead-in ("x What is LoRA", "Latent space: what is it"): try from each question word.
    starts = [0] + [m.start() for m in re.finditer(r"\b(what|who|define|explain|describe|tell me)\b", question, re.I)
                    if m.start() > 0 and (len(question[:m.start()].split()) <= 2 or question[:m.start()].rstrip()[-1:] in ".:?!")]
    for pattern, start in ((p, s) for s in starts for p in _DEFINE):
        found = pattern.match(question[start:])
        if found:
            # "What is curriculum learning, where a model sees easy examples first?": the clause describes the term
            term = re.split(r",\s*(?:where|which|in which|when|that|i\.e\.|meaning)\b", found.group("x"), maxsplit=1)[0]
            term = term.strip(" ,;:'\"")
            words = term.split()
            if not words or len(words) > MAX_TERM_WORDS + 2 or _DESCRIPTIVE.search(term.lower()) \
                    or re.search(r"[.!?;](\s|$)", term) or term.lower() in _POINTING or _WH.match(term):
                continue
            return term
    return ""


def _names_a_creator(text: str, models: list[str], names: NameIndex, table: ModelTable) -> bool:
    """A yes/no question naming a model and one of the table's creators asks who made it: "Is DeBERTa a
    Google model?", "Did Meta make LLaMA?" (the creator's words inside the model's own names don't count)."""
    # ("and BigBird, is it from Google Brain?": the clause after the name)
    asked = _yes_no(asking_clause(text)) or _yes_no(re.split(r",\s*", text)[-1].strip())
    return bool(asked) and any(w in table.creator_vocab for w in _own_words(asked, models, names))


def without_subject(question: str) -> str:
    """The question as the user asked it, without the subject a condensation attached ("Why (about GANs)?" ->
    "Why"); unchanged when it carries none."""
    about = _ABOUT.search(question)
    return question[:about.start()] if about else question


def without_tag(question: str) -> str:
    """The question without a tag that only asks for a yes ("whisper = speech to text right??" -> "whisper = speech
    to text"); unchanged when it has none or is a wh-question ("Which one is right?")."""
    tag = YES_TAG.search(question.lower())
    return question[:tag.start()] if tag and tag.start() > 0 and not _WH.match(question) else question


def _yes_no(asked: str) -> str:
    """The yes/no question asked, without a tag ("whisper = speech to text right?" -> "whisper = speech to text"),
    or "" when it is none."""
    if _YES_NO.match(asked):
        return asked
    untagged = without_tag(asked)
    return untagged if untagged != asked else ""


def _own_words(text: str, models: list[str], names: NameIndex) -> set[str]:
    """The question's content words that are not words of the named models' names (singular)."""
    own = {singular(w) for m in models for name in names.names_of(m) for w in content_words(name)}
    return {singular(re.sub(r"['’]s$", "", w)) for w in content_words(text)} - own  # "DeepMind's" is DeepMind


def _names_an_output(text: str, models: list[str], names: NameIndex, table: ModelTable) -> bool:
    """A yes/no question naming a model and what models generate, and nothing else, asks what it generates:
    "Is DETR an image generator?", "BLOOM is in the table. Is it an image model or a text one?" ("Is Whisper
    trained on hours of audio?" asks something else)."""
    asked = _yes_no(asking_clause(text))
    if not asked:
        return False
    rest = _own_words(asked, models, names)
    outputs = rest & table.output_vocab
    return bool(outputs) and all(w in outputs or is_field_word(w) for w in rest)


# ("Does AI Dungeon make pictures, according to the table?": where the user looked is not what is made)
_MAKES_WHAT = re.compile(rf"^(?:does|do|did|can|could|will)\s.*\b{_MAKING_VERB}s?\s+(?P<x>[\w-]+(?:\s+[\w-]+){{0,2}}?)"
                         r"(?:\W+(?:according to|in|per|based on|from) (?:the )?(?:model )?(?:table|article|list|material))?\W*$")
# A yes/no question about a model: "is T5 one of google's models?" asks who made T5, no list of Google's rows
_MODEL_ASKED = re.compile(r"^(?:is|are|was|were|does|do|did|has|have)\s+(?P<x>.+?)\s+(?:one of|an?|from|by|made|created|"
                          r"built|developed|credited|listed|among|part of|in the)\b")


def _asks_of_the_named(text: str, models: list[str], names: NameIndex) -> bool:
    """Whether the question states something of the models it names and then asks of them alone: "AlphaFold and
    DeepMind Lab are both DeepMind entries. What does each one produce?" asks for their two rows, not DeepMind's."""
    asked = asking_clause(text)
    return bool(models) and asked != text and not names.find(asked) \
        and bool(re.search(r"\b(each|both|they|them|their|it|its)\b", asked)) \
        and not re.search(r"\b(else|other|others|another|more|which|list)\b", asked)  # "What else do they make?"


def _about_a_model(text: str, models: list[str], names: NameIndex) -> bool:
    """Whether a yes/no question's subject is a model it names ("is T5 one of google's models?")."""
    found = _MODEL_ASKED.match(_yes_no(asking_clause(text)))
    if found is None:
        return False
    # "Does the table list CLIPper as an image tool, a text tool, or both?": the model, as the table gives it
    subject = _THE_TABLE_GIVES.sub("", found.group("x"))
    said = set(names.find(subject))
    # the subject is the model's name and nothing else: not "Does Whisper appear more than once in the list?"
    return bool(said) and said <= set(models) and not _own_words(subject, list(said), names)


_THE_TABLE_GIVES = re.compile(r"^(the |this )?(article'?s? )?(model )?(table|article|list|glossary) (lists?|shows?|gives?|has|"
                              r"have|describes?|puts?|says?|mentions?|names?|treats?|counts?|classif\w+|categori[sz]\w+) ", re.I)


# "Is DeepMind Lab a game-playing agent?", "Is MAUVE a text generator like GPT-2?": what kind of thing a model is
_IS_A = re.compile(r"^(?:is|are|was|were)\s+(?P<x>.+?)\s+(?:an?|some)\s+(?:(?:kind|type|sort) of\s+)?"
                   r"(?P<kind>[\w-]+(?:\s+[\w-]+){0,3}?(?:\s+or\s+(?:an?\s+)?[\w-]+(?:\s+[\w-]+){0,2}?)?)"
                   r"(?:\s+like\s+(?P<like>.+?))?\W*$")


def kind_asked(text: str, models: list[str], names: NameIndex, table: ModelTable) -> str:
    """The kind of thing a yes/no question asks a named model to be, when the model's row tells ("Is DeepMind Lab
    a game-playing agent?" -> "game-playing agent": its row says what it generates), else "". The kind has to name
    an output ("game", "text") or another model ("like GPT-2"); "Is DALL-E an open-source model?" is no such question."""
    found = _IS_A.match(_yes_no(asking_clause(text)))
    if not found:
        return ""
    kind = found.group("kind")
    said, others = set(names.find(found.group("x"))), set(names.find(f"{kind} {found.group('like') or ''}"))
    kinds = re.split(r"\s+or\s+(?:an?\s+)?", kind)  # "a text model or a vision one": either
    if not said or not said <= set(models) or not others <= set(models) \
            or any(set(k.lower().split()) & STOPWORDS for k in kinds):
        return ""  # "a game-playing agent with an API" asks more than what it is
    words = [p for w in content_words(kind) for p in [w, *compound_parts(w)]]  # "game-playing"
    outputs = {singular(w) for w in words} & table.output_vocab
    return kind if outputs or others else ""


def analyze(question: str, names: NameIndex, table: ModelTable | None = None, asks: FieldAsks | None = None) -> Intent:
    """Kind, named entries and list filter of a standalone question. `asks` reads whether a question about model rows
    asks only for their fields, where the wording rules below do not tell."""
    text = normalize(question)
    subjects = tuple(names.find(question))
    models = [s for s in subjects if names.kinds.get(s) == "model"]
    distinct_titles = {names.titles_by_entry.get(s, s).casefold() for s in subjects}
    # "What do you feed the model in text-to-image compared with image-to-image?" compares two entries: no list of rows
    compares = len(distinct_titles) >= 2 and bool(_COMPARE.search(text))
    # A condensed follow-up carries its subject as "(about X)": the question proper is what precedes it. One condensed
    # onto a model row ("no company at all (about U-Net)?") is about that row, no list of rows.
    about = _ABOUT.search(question)
    onto_row = bool(models) and about is not None \
        and all(names.kinds.get(s) == "model" for s in names.find(about.group(0)))
    match = table.match(question) if table is not None and not (compares and not models) \
        and not _about_a_model(text, models, names) and not onto_row else None
    # "and is there a Google one that does the same (about FastSpeech)?": rows that generate what FastSpeech does
    same = _SAME_OUTPUT.search(question[:about.start()]) if onto_row and about is not None else None
    if same and about is not None and table is not None:
        cells = [NodeView.of(r).field("generates") for r in table.rows if NodeView.of(r).entry_id in models]
        if cells and cells[0]:
            asked = f"{question[:same.start()]}that generates {cells[0]}{question[same.end():about.start()]}?"
            match = table.match(re.sub(r"^(and|so|but|also|then|ok|okay)\W+", "", asked, flags=re.I))
    if match is not None and not _asks_of_the_named(text, models, names):
        return Intent(Kind.LIST, subjects, table=match)
    if compares:
        return Intent(Kind.COMPARE, subjects)
    # ("WaveNet and Tacotron both make sound. Who is each from?": the clause that asks)
    rows_only = all(s in models or any(s in names.twins.get(m, []) for m in models) for s in subjects)  # twins: see NameIndex
    fields = bool(models) and rows_only and asks is not None and asks.asks_fields(question, names)
    if models and (_CREATOR.search(text) or _CREATOR.search(asking_clause(text))
                   or table is not None and _names_a_creator(text, models, names, table)):
        return Intent(Kind.CREATOR, subjects, asks_fields=fields)
    # "What does the 'CLIP skip' setting change when I generate images in Stable Diffusion?": the user generates
    mine = re.sub(r"\b(when|while|if|as|after|before|once|whenever) (i|we|you|one|people|users?)\b.*$", "", text)
    if models and (_OUTPUT.search(mine) or _OUTPUT.search(asking_clause(mine))
                   or table is not None and _names_an_output(text, models, names, table)):
        # "Does the table say GPT-4 makes pictures?": what it is asked to make, in the user's words, is no topic
        made = _MAKES_WHAT.search(text)
        what = made.group("x") if made and not set(made.group("x").split()) & STOPWORDS else ""
        return Intent(Kind.OUTPUT, subjects, term=what, asks_fields=fields)
    kind = kind_asked(text, models, names, table) if models and rows_only and table is not None else ""
    if kind:
        return Intent(Kind.OUTPUT, subjects, term=kind, asks_fields=fields)
    if models and rows_only and _ROW.search(text) \
            and all(is_field_word(w) for w in _own_words(text, models, names)):
        return Intent(Kind.CREATOR, subjects)  # "What is the ViT row in the table about?": the whole row
    if models and _STANDS_FOR.search(text) and table is not None and any(_spelled_out(m, names, table) for m in models):
        return Intent(Kind.DEFINITION, subjects)  # "MUM - what does that stand for?": its row spells it out
    if fields:  # the whole row answers: "and the table says it produces what, exactly (about WaveNet)?"
        return Intent(Kind.DEFINITION, subjects, asks_fields=True)
    term = definition_term(question[:about.start()] + "?" if about else question)
    head = re.split(r"\s+(?:in|of|for|within|inside|from|on|at|behind|between|among|about|under|against)\s+", term, maxsplit=1)[0]
    # "What was AlphaStar's win rate?" asks for something of AlphaStar's, no definition of it
    owned = re.match(r"(?P<owner>.+?)['’]s\s+(?P<x>.+)$", head)
    if owned and names.find(owned.group("owner")) and any(not is_field_word(w) for w in content_words(owned.group("x"))):
        return Intent(Kind.OTHER, subjects, term="")
    if term and (head != term or about) and (names.find(term) or about) and not names.find(head):
        # Something unnamed in the context of a named entry is not a definition of that entry:
        # "What is a discriminator in a GAN?" is about the discriminator, wherever the material explains it;
        # "What is the role of attention in transformers?" explains a side of Transformers.
        if not about and any(not is_field_word(w) for w in content_words(head)):
            return Intent(Kind.OTHER, (), term=head)
        return Intent(Kind.EXPLAIN, subjects)  # "What are the two phases (about Diffusion models)?" too
    if term:
        named_term = set(names.find(term))
        if named_term and set(subjects) >= named_term:
            return Intent(Kind.DEFINITION, tuple(s for s in subjects if s in named_term) or subjects, term=term)
        if not subjects and any(not is_field_word(w) for w in content_words(term)):
            return Intent(Kind.DEFINITION, (), term=term)
    if subjects and _NUMBER_Q.search(text):
        return Intent(Kind.NUMBER, subjects)
    topic = "" if subjects else topic_phrase(question)
    if _EXPLAIN.search(text):
        return Intent(Kind.EXPLAIN, subjects, term=topic)
    return Intent(Kind.OTHER, subjects, term=topic)


def _spelled_out(entry: str, names: NameIndex, table: ModelTable) -> bool:
    """Whether the table spells out a model's short name: in brackets after it ("DeiT (Data-efficient Image
    Transformer)") or in a field whose words start with its letters ("MUM": "Multitask Unified Model")."""
    title = names.titles_by_entry.get(entry, entry)
    if re.search(r"\(.+\)", title):
        return True
    letters = re.sub(r"[^a-z]", "", title.lower())
    fields = [NodeView.of(r).field(f) for r in table.rows if NodeView.of(r).entry_id == entry for f in ("creator", "generates")]
    return any("".join(w[0] for w in re.split(r"[\s-]+", f.lower()) if w) == letters for f in fields if f)


def topic_phrase(question: str) -> str:
    """What a how/why question is about: "How does speculative decoding use ..." -> "speculative decoding"."""
    found = _TOPIC.match(unify(question).rstrip(" ?.!"))
    if not found or re.match(r"(you|i|we|one|they|people|someone|researchers|scientists|engineers|developers|experts|users|"
                             r"it|this|that|article|author|text|material|glossary|table|section|list)\b",
                             found.group("x"), re.I):
        # "How do you ...", "How can it ...": about the asker or something said before; "How does the article
        # suggest ...": about what the article says, whose topic comes later
        return ""
    words: list[str] = []
    rest = found.group("x").split()
    for word in rest:
        if _TOPIC_END.fullmatch(word.strip(",;:")) or len(words) == MAX_TERM_WORDS:
            break
        words.append(word.strip(",;:"))
    # "What are the shortcuts that pass ...": a thing described by a relative clause; its noun is the asker's word
    # for it, not a term to look up
    if re.match(r"(what|which)\b", question.strip(), re.I) and rest[len(words):len(words) + 1] \
            and re.fullmatch(r"that|which|who|whose|where", rest[len(words)], re.I):
        return ""
    return " ".join(words)
