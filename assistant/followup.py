"""Condense a follow-up ("And who created it?") into a standalone query using the chat history.

Only real follow-ups are rewritten: questions that point back (a pronoun, "this technique",
"that company", a bare "that", a definite phrase only the last answer explains: "the forger's goal"),
elliptical fragments ("And the creator?", "Why?", "Such as?", "What about StyleGAN?") and ordinals
("Who made the second one?" after a list: that item). A question that stands on its own is searched
as asked, whatever came before, and a question that names its own subject never gets another one
attached.

The subject is the last exchange's: the entry the latest user question names (or the term it
asked about, "mode collapse"), else the entry the latest answer names. Deterministic on purpose:
a 135M model rewrites questions unreliably, and the rewritten query is shown to the user.

How a question is read against the subject is a table of rules (`RULES`), each a small function with
its example, tried in order; a new kind of follow-up is a new rule in its place in that table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant import prompts
from assistant.intent import asks_about_fields, definition_term, topic_phrase
from assistant.retrieval import NameIndex
from assistant.table import is_list_question, table_word
from assistant.text import ORG_NOUN, STOPWORDS, content_words, normalize, stem, unify, words
from assistant.text import POINTER_NOUNS as _NOUNS

History = list[tuple[str, str]]
MAX_EXCHANGES = 6  # (user, assistant) pairs of history read per question: bounds the work whatever a client sends
_REFUSAL = prompts.REFUSAL_TEMPLATE.split("{", 1)[0]  # how a refusal opens: it names no subject and lists nothing

_NAME_NOUNS = r"(acronym|abbreviation|initialism|name|full name|short name|word|letters)"
_PRONOUN = re.compile(r"\b(it|its|they|them|their|theirs)\b", re.I)
# "it" that refers to nothing: "what do you call it when ...", "is it true that ...", "is it possible to ..."
_EXPLETIVE = re.compile(r"\b(call(ed)?|is|was|isn't|make|find)\s+it\s+(when|that|if|to|true|possible|called|like)\b"
                        # "How long does it take to walk across the Golden Gate Bridge?", "how much would it cost to ..."
                        # (not "How long does it take to train?", whose "it" stands for what is trained)
                        r"|\b(does|did|do|will|would|could|can|should|might)\s+it\s+(take|cost)\s+(\w+\s+)?to\s+\w+\s+\w+"
                        r"|\bit\s+(is|was|'s)\s+(called|possible|true|important|necessary|said|known|hard|easy)\b", re.I)
# ("that kind of network" is one reference, replaced whole)
# ("that image model": one word may say which)
_DEMONSTRATIVE = re.compile(r"\b(this|that|these|those|said)\s+(same\s+)?((?!(a|an|the|is|was|of|in|on|for|to|and|or)\b)"
                            rf"[\w-]+\s+)??{_NOUNS}\b(\s+of\s+(?!the\b|an?\b)[\w-]+)?", re.I)
# "one" standing for the subject at the end of a question: "What is the decoder's job in one?"
_ONE = re.compile(r"\b(in|of|for|with|inside|from|into|on|training|using|building|running|fine-tuning) one\W*$"
                  # "Is there a newer, better one?", "Is there another one?": one like the subject
                  r"|\b(a|an|another)\s+([\w-]+,?\s+){0,2}one\W*$", re.I)
# _ONE's "a <kind> one" with the kind said: in a question naming its own entry, "Is T5 a Google model or a Microsoft
# one?", it is that entry's kind, no pointer (see _stands_alone)
_A_KIND_ONE = re.compile(r"\b(a|an)\s+([\w-]+\s+){1,2}one\W*$", re.I)
_OTHER = re.compile(rf"\bthe (other|same|second|first|latter|former)\s+{_NOUNS}\b|\bthe (\S+ )?(versions?|variants?|phases?|"
                    r"stages?|steps?|parts?|half|halves|networks?|one|ones|components?|layers?)\b"
                    # (not "the part on the role of attention mechanisms": a part said by what it is about)
                    r"(?!\s+(on|about|covering|explaining|describing)\b)", re.I)
# "And zero-inflated models — what are they for?" asks a question of its own about the new name; "And
# fine-tuning, how does it relate?" still relates it to the subject
_OWN_QUESTION = re.compile(r"\b(what|how|why|who|which|where|when)\b(?!.*\b(relat\w*|differ\w*|compar\w*|versus|vs)\b)", re.I)
_MEDIA = frozenset({"text", "image", "images", "video", "videos", "audio", "speech", "music", "3d", "code"})
# "the IO version", "the XL variant", "the negative kind" (of Prompt): another entry named after the subject (only
# when the material has an entry of that name)
_VARIANT = re.compile(r"\bthe (?P<q>[\w.-]+) (version|variant|edition|release|kind|type|sort|form|flavou?r)\b"
                      r"(\s+of\s+(it|that|this|them|that one|this one)\b)?", re.I)  # ("the IO version of it")
# A bare "this"/"that" used as a pronoun: after a verb or preposition ("compare to that", "who made that").
_BARE = re.compile(r"\b(is|are|was|were|['’]s|does|do|did|doing|done|can|could|would|should|will|might|about|to|with|from|of|on|"
                   r"for|use|uses|made|make|create|created|want|need|needs|try|trust|avoid|prefer|choose|fix|solve|prevent|achieve|improve|measure|change|affect|modify|"
                   r"extend|replace|"
                   # (not the relative "that" of "what else did they make that plays games?")
                   r"than|like)\s+(this|that(?!\s+(?:\w+[^siu\W]s|can|could|will|would|should|might|must|may)\b)|these|those)\b"
                   r"(?!\s+\w+\s+(is|are|was|were)\b)(?=\s*[?.!,]|\s*$|\s+\w+)"
                   # at the end only: "what part does training data play in that?" (not "in that case, ...")
                   # ("could serve as that?")
                   r"|\b(in|at|by|into|behind|without|as)\s+(this|that|these|those)(?=\W*$)", re.I)
_CREATOR_REF = re.compile(r"\b(that same|this same|that|this|the same|the|its|their)\s+"
                          # not "the creator of X", nor "the same company as X" (which compares with X)
                          rf"({ORG_NOUN}|maker|creator|developer|studio)\b('s)?"
                          # nor "its creator column", a field of the row
                          r"(?!\s+(of|behind|that|which|who|as|column|cell|field|slot)\b)", re.I)
_PEOPLE = re.compile(r"\b(they|them|their)\b", re.I)
_FROM_THEM = re.compile(r"\bfrom (them|they)\b", re.I)
# "is few-shot learning connected to it?": a question naming one entry relates it to the subject
_RELATED_TO_IT = re.compile(r"\b(connected|related|linked|similar|compared|tied|relevant|connection|relation|link|"
                            r"different|differ|part|kind|type|version|variant|form)\s+(to|with|from|of)\s+(it|them)\b", re.I)
_MAKES = re.compile(r"\b(make|made|makes|create|created|creates|build|built|develop|developed|release|released|produce|"
                    r"produced|design|designed|train|trained)\b", re.I)
# Elliptical fragments: "And the creator?", "Why?", "How so?", "Examples?", "Tell me more."
_ELLIPSIS = re.compile(r"^(and|but|so|also|ok|okay)?\W*(then\W*)?(why|how|how so|really|examples?|more|tell me more|"
                       r"go on|explain( more| further)?|what else|anything else|and then|in what way|such as|like what|who else|"
                       r"any others|how come|what for|(so )?what'?s the point|why bother|why care|why should (i|we|anyone) care|"
                       # "why would anyone bother?", "why do people even bother?"
                       r"why (would|should|do|does|did|will) (anyone|anybody|someone|people|one|you|we|i|they) (even )?"
                       r"(bother|care)|"
                       r"so what|what'?s the use|what do you mean|meaning|more details?( please)?|"
                       r"(can you |could you )?simplify( that| it)?|simpler( please)?|explain (it |that )?(more )?simply|"
                       r"explain (it |that )?simpler|eli5|in simple(r)? (terms|words)|examples? please|for example)?\W*$", re.I)
_FIELD_ELLIPSIS = re.compile(r"^(and|but|so|also)?\W*(what about |how about )?(the |its )?(?P<field>creator|maker|developer|"
                             r"company|author|output|outputs|definition|meaning|examples?|purpose|use|uses)\W*$"
                             # "and whose is that?": who made it
                             r"|^(and|but|so)?\W*(?P<whose>whose) (is|was) (it|that|this)( one)?\W*$"
                             # "and which company?", "which lab?": who made it
                             rf"|^(and|but|so)?\W*(which|what) {ORG_NOUN}\W*$"
                             # with filler: "Output type according to the table?", "Generates what, exactly?"
                             r"|^(and\W+)?(the |its )?(?P<field2>creator|maker|output)( type)?,?( (according to|in|per|from) the "
                             r"(table|article|list))?\W*$"
                             r"|^(and\W+)?(?P<generates>generates?|produces?|outputs?) what\b[\w\s,]{0,20}\W*$"
                             # "what does the acronym stand for": the subject's name spelt out
                             r"|^(and\W+)?what does (the|that|this|its) (?P<acronym>acronym|abbreviation|name) stand for\W*$",
                             re.I)
# A request that continues the last answer: "Can you give an example?", "Could you elaborate?"
_POLITE = r"^(and\W+)?((can|could|would) you (please )?)?"
_REQUEST = re.compile(_POLITE + r"(give|show|provide|share|tell|name|list|walk (me|us) through|talk (me|us) through)( me| us)? "
                      r"(an? |some |another |more |a (couple|few) (of )?)?"
                      r"([\w-]+ )?(examples?|"
                      r"analog(y|ies)|details?|more|uses?|use ?cases?|applications?)\W*$|"
                      + _POLITE + r"(elaborate|expand|go into more detail|say more|"
                      r"explain (that |this )?(more|further|again))\W*$"
                      r"|^(and )?any( [\w-]+)?( [\w-]+)? (examples?|analog(y|ies)|"
                      r"use ?cases?|applications?|uses|downsides?|drawbacks?|risks?|limitations?|benefits?|advantages?|"
                      r"alternatives?)\W*$", re.I)
_QUESTION_LEAD = re.compile(r"^(what|what's|whats|who|which|how|why|when|where|is|are|does|do|can)\b", re.I)
# A comparison that names one side only: "the difference from X", "compared with X", "how does X differ".
# "what exactly gets less precise there?": the place just spoken of (not "is there?")
_THERE = re.compile(r"(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )(?<!\bin )\bthere\W*$", re.I)
_ONE_SIDED = re.compile(r"\b(difference|differences|differ|differs|different|compare[sd]?|comparison|better|worse|similar)"
                        r" (from|to|with|than)\b|\bsame ([\w-]+ )?as\b"
                        # "and StyleGAN versus that?", "MuZero vs?" (not "Does Copilot work in VS Code ...?")
                        r"|\b(versus|vs\.?)(\s+(it|that|this|them|those|the (first|second|other|last) one))?\W*$"
                        # "and MuZero, same lab?": the same as the subject's
                        rf"|\b(the )?same ({ORG_NOUN}|creator|maker|developer|output|people)\W*$"
                        # "How are equivariant networks different?", "how do they compare?": the other side is left unsaid
                        r"|\b(differ|differs|different|compare|better|worse|similar)\W*$", re.I)
# "Which of those generate images?" after a list question: the list's question, narrowed.
_AMONG = re.compile(r"^(and\W+)?(which|what) (ones )?(of (those|them|these)|among (those|them|these)) (?P<rest>.+?)\W*$", re.I)
# A short fragment that continues the last question: "And for images?", "And the second phase?"
_FRAGMENT = re.compile(r"^(and|but|also|or|what about|how about)\b[^?]{0,40}\??$"
                       # "going from what to what?", "trained on what?": an echo question about what was just said
                       r"|^(?!(what|who|whom|which|how|why|when|where)\b)[\w' -]{1,30}\b(what|who|whom|which)\??$"
                       # "no company at all?", "only text?": a verbless fragment that qualifies the last answer
                       r"|^(no|not|only|just|even)\b(?!.*\b(is|are|was|were|does|do|did|can|could|has|have)\b)[^?]{0,30}\??$",
                       re.I)
# "the idea", "the concept": a bare abstract noun that can only mean what was just discussed.
_BARE_IDEA = re.compile(r"\bthe (idea|concept|approach|technique|method|trick|principle|process)\b"
                        r"(?!\s+(of|behind|that|which|for|to)\b)(?!\s+[\w-]+\s+(is|are|was|were)\b)", re.I)
# "the cooking comparison", "the painting analogy": one of the article's comparisons, named in the user's own words,
# can only be the one that goes with what was just discussed
_ANALOGY = re.compile(r"\bthe ([\w-]+ ){1,3}(comparison|analogy|metaphor|parallel|illustration)s?\b"
                      r"(?!\s+(of|for|between|with|in the)\b)"
                      # "what's the analogy?", "and the example?", "what's the caption example?": the subject's own
                      r"|\bthe ([\w-]+ )?(analogy|metaphor|example|examples)(?=\s*(there|here)?\s*[?.!]*\s*$"
                      # "what's the analogy the article gives?", "the example it uses"
                      r"|\s+(that\s+|which\s+)?(the (article|author|text|glossary|post|section)|it|they)\s+"
                      r"(gives?|uses?|offers?|makes?|provides?|mentions?)\b)", re.I)
# Words of a definite phrase too common to show that it refers back ("the models that ..."), and phrases
# about the material itself ("the table", "the article").
_GENERIC_NP = frozenset({"model", "models", "data", "ai", "system", "systems", "way", "ways", "thing", "things", "output",
                         "input", "question", "answer", "result", "results", "main", "best", "most", "first", "last",
                         "difference", "differences", "role", "purpose", "use", "goal", "point"})
_MATERIAL_NP = frozenset({"table", "article", "material", "list", "post", "author", "text", "glossary", "section"})
# "the second one", "the last model", "the latter": an item of the last answer's list (or of the two
# entries the last question compared). A bare "the first" only at the end: "the first phase" is no item.
# places in words, for list items and for the article's numbered list ("the very first item in the numbered list")
_PLACE_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
                "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
                "twentieth")
_ORDINALS = _PLACE_WORDS[:10]
_ORDINAL = re.compile(rf"\bthe (?P<n>{'|'.join(_ORDINALS)}|last)(?: (one|model|entry|item|system|tool|row)\b|(?=\s*[?.!,]|\s*$)"
                      r"|(?P<of> (?:one )?(?:of|among) (?:those|these|them|the (?:two|three|four|ones)))\b)"
                      r"|\bthe (?P<n2>latter|former)\b", re.I)
# "that same output", "the same thing", "generate the same": what the subject model generates
_SAME_OUTPUT = re.compile(r"\b(that|the|this) same (output|outputs|thing|task|job|purpose|kind of (output|content))\b"
                          r"|\b(generates?|produces?|outputs?|makes?) the same\b"
                          # "anything else in the table for that task?", "other rows with that output?"
                          r"|\b(for|with|doing) (that|this) (task|job|output|purpose)\b", re.I)
# The article's numbered list: "concept number 17", "concept #5", "number 19", "the 3rd concept"; and the entry next
# to the subject: "the concept right after it", "the next one", "the previous concept"
_NUMBERED = re.compile(r"\b(?:concept|item|entry)\s+(?:number\s+|no\.?\s*|#\s*)?(?P<n>\d{1,2})\b|\bnumber\s+(?P<m>\d{1,2})\b"
                       r"|\bthe (?P<o>\d{1,2})(?:st|nd|rd|th) (?:numbered )?concept\b", re.I)
# ... and in words: "the very first item in the article's numbered list", "the last concept", "the third numbered concept"
_NUMBERED_WORDS = re.compile(rf"\bthe (?:very )?(?P<w>{'|'.join(_PLACE_WORDS)}|last|final) (?:numbered )?(?:concept\b"
                             r"(?:\s+(?:in|on|of)\s+(?:the|that|this)(?:\s+same)?\s+(?:article's\s+)?(?:numbered\s+)?list\b)?"
                             r"|(?:item|entry|one)\s+(?:in|on|of)\s+(?:the|that|this)(?:\s+same)?\s+(?:article's\s+)?"
                             r"(?:numbered\s+)?(?:list|concepts)\b(?:\s+of\s+(?:generative\s+ai\s+)?concepts\b)?)", re.I)
_NEXT_TO = re.compile(r"\bthe (?:concept|one|entry|item)s? (?:right |just |immediately |directly )?"
                      r"(?P<dir>after|before|following|preceding)(?: (?:it|that|this)(?: one)?)?\b"
                      r"|\bthe (?P<dir2>next|previous|preceding|following) (?:concept|one|entry|item)\b", re.I)
# A question asking for an entry besides the one discussed: "Is there a specific strategy of that kind in the glossary?"
_ENTRY_NOUN = (r"(entry|entries|concept|concepts|term|terms|technique|techniques|method|methods|strategy|strategies|approach|"
               r"component|architecture|model|models|one|ones|half|part|piece|side)")
_ASKS_FOR_ENTRY = re.compile(rf"^(is|are) there\b|^(which|what) (other |another )?{_ENTRY_NOUN}\b"
                             rf"|\b(any other|another|any more) {_ENTRY_NOUN}\b", re.I)
_IS_THERE = re.compile(r"((and|so|but|also|ok|okay)\W+)?(is|are) there\b", re.I)
# "Which kind of generative model ...?", "Which numbered concept is a GAN for ...?": asks which entry fits, not about one
_ASKS_WHICH = re.compile(r"^(which|what (kind|type|sort|form|family|class|variety) of)\s+(?!(is|are|was|were|one|ones|of)\b)"
                         r"[\w-]+(\s+[\w-]+){0,3}?\s+(are|do|can|let|help|turn|make|[a-z]+s)\b", re.I)  # a verb
_WHICH_ENTRY = re.compile(rf"^(which|what) (item|items|{_ENTRY_NOUN})\b", re.I)
_LISTED = re.compile(r"^\s*[-•*]\s*(?P<name>.+?)\s+—\s+creator:", re.M)
_SWITCH = re.compile(r"^(and|but|so)?\W*(what|how) about\s+(?P<x>.+?)\W*$|^(and|but|so)\s+(?P<y>.+?)\W*$", re.I)


@dataclass(frozen=True)
class Subject:
    """What the last exchange was about: an entry (with its title) or a term the material may not name."""

    text: str  # the title or term, as it goes into a query
    entry_id: str = ""
    asked: str = ""  # the user question it comes from
    others: tuple[str, ...] = ()  # titles of the other entries that question named ("they" may be all of them)
    row: tuple[str, str] = ("", "")  # (id, title) of a model row of the same name, when the subject is prose


def last_subject(history: History, names: NameIndex, titles: dict[str, str],
                 kinds: dict[str, str] | None = None, numbers: dict[str, str] | None = None) -> Subject | None:
    """What the last exchange was about. Each exchange, latest first, is read by the rules of
    `SUBJECT_RULES` in order (the entry its question names; the term it defined; the rows a list answer
    gave; the new entry an answer gave when another was asked for; for a request that only asks the answer to go
    on ("Give me an example."), what the exchange before was about; the entry the answer to a latest question
    that stands alone gave); the first rule that finds a subject decides. When no exchange gives one: the
    entry the latest answer names, or else quotes, else what the latest question was about ("How does X work?" -> X).
    None when nothing is clear: the question is then left as asked. A refusal names no subject: its closest
    entries were not asked about. `numbers` (entry id -> place in the numbered list) reads "the concept
    right after it" in earlier questions."""
    context = _Context(history, names, titles, kinds or {}, numbers)
    exchanges = context.exchanges()
    for exchange in exchanges:
        for rule in SUBJECT_RULES:
            subject = rule(exchange, context)
            if subject is not None:
                return subject
    for exchange in exchanges:
        found = names.find(exchange.answer) or names.quoted_in(exchange.answer)  # what it names, else what it quotes
        if found:
            return context.entry(found)
    for exchange in exchanges:
        topic = topic_phrase(exchange.question)
        if topic:
            return Subject(topic, "", exchange.question)
    return None


@dataclass(frozen=True)
class _Exchange:
    """One user question as it was meant ("Tell me more about the latter." is about the latter entry), with the
    answer it got ("" for a refusal) and the history before it."""

    question: str
    answer: str
    earlier: History
    latest: bool  # the last exchange of the history

    @property
    def refers_back(self) -> bool:
        return points_back(self.question) or definite_reference(self.question, self.earlier)


@dataclass(frozen=True)
class _Context:
    """What every subject rule reads: the history and the index's names, titles and kinds."""

    history: History
    names: NameIndex
    titles: dict[str, str]
    kinds: dict[str, str]
    numbers: dict[str, str] | None

    def exchanges(self) -> list[_Exchange]:
        """The user turns, latest first, each with the answer it got (a refusal's left out)."""
        users = [i for i, (role, _) in enumerate(self.history) if role == "user"]
        out = []
        for i in reversed(users):
            text = self.history[i][1]
            earlier = self.history[:i]
            meant = resolve_ordinal(text, earlier, self.names) \
                or (name_numbered(text, earlier, self.names, self.titles, self.numbers) if self.numbers else text)
            answer = next((t for r, t in self.history[i + 1:i + 2] if r == "assistant" and not t.startswith(_REFUSAL)), "")
            out.append(_Exchange(meant, answer, earlier, i == users[-1]))
        return out

    def before(self, exchange: _Exchange) -> Subject | None:
        """What the exchanges before this one were about."""
        return last_subject(exchange.earlier, self.names, self.titles, self.kinds, self.numbers) if exchange.earlier else None

    def is_model(self, entry_id: str) -> bool:
        return self.kinds.get(entry_id) == "model"

    def entry(self, found: list[str], asked: str = "") -> Subject:
        """The subject for the entries found: a question about who made it or what it generates is about the
        model row, any other about the prose; the other entries found and a model row of the same name go along."""
        rows_first = asks_about_fields(asked)
        ordered = sorted(found, key=lambda e: self.is_model(e) != rows_first)
        title = self.titles.get(ordered[0], ordered[0])
        others = tuple(dict.fromkeys(t for t in (self.titles.get(e, e) for e in ordered[1:]) if t.casefold() != title.casefold()))
        prose = not self.is_model(ordered[0])
        # a model row of the same name, or one the prose entry's title names ("LoRA" in "LoRA and Prompt Tuning")
        rows = [e for e in [*ordered[1:], *self.names.inside(title)] if self.is_model(e) and prose]
        return Subject(title, ordered[0], asked, others if len(found) > 1 else (),
                       (rows[0], self.titles.get(rows[0], rows[0])) if rows else ("", ""))


# --- the subject rules, in the order last_subject() tries them on each exchange: each returns the subject or None -----
def _named_in_question(exchange: _Exchange, context: _Context) -> Subject | None:
    """The entries the question names ("Who made Whisper?" -> Whisper). A list question naming a topic ("Which entry
    in the table is listed for self-supervised learning?") is about the rows its answer gave (DINO), and a question
    asking for another entry ("Is there a GAN variant aimed at making art?", "Which numbered concept is a GAN for
    sharper images?") about the new one its answer gave (CANs, ESRGAN); a name the answer took as the longer entry it
    opens with ("the LoRA section" -> "LoRA and Prompt Tuning") is about that entry."""
    found = context.names.find(exchange.question)
    if found and is_list_question(exchange.question) and not any(map(context.is_model, found)):
        found = [e for e in context.names.find(exchange.answer) if context.is_model(e) and e not in found] or found
    elif found and exchange.answer and any(p.match(exchange.question.strip()) for p in (_IS_THERE, _ASKS_WHICH)) \
            and not is_list_question(exchange.question) and not asks_about_fields(exchange.question) and len(found) == 1:
        # "Is there a GAN variant aimed at making art?" or "Which kind of generative model squeezes its input ...?" asks
        # for another entry than the one it names (GANs, Generative Models): the one its answer gave
        found = [e for e in context.names.find(exchange.answer) if e not in found][:1] or found
    elif found and exchange.answer:
        # "the LoRA section" answered by "LoRA and Prompt Tuning are ...": the longer entry the answer opens with, whose
        # title holds the name asked, is what was meant
        opening = context.names.find(exchange.answer)[:1]
        title = context.titles.get(opening[0], "") if opening else ""
        held = set(found) & set(context.names.inside(title))
        if held and opening[0] not in found \
                and all(len(words(title)) > len(words(context.titles.get(e, e))) for e in held):
            found = [opening[0], *found]
    return context.entry(found, exchange.question) if found else None


def _defined_term(exchange: _Exchange, context: _Context) -> Subject | None:
    """The term a definition question asked about ("What is mode collapse?"); when that question was itself a
    follow-up ("What is the generator's job?"), what it was about."""
    term = definition_term(exchange.question)
    if not term:
        return None
    # "What does the acronym stand for?": a term that is only a pointer noun names what was discussed before
    if exchange.earlier and (exchange.refers_back or re.fullmatch(rf"{_NOUNS}|{_NAME_NOUNS}", term, re.I)):
        return context.before(exchange)
    return Subject(term, "", exchange.question)


def _rows_listed(exchange: _Exchange, context: _Context) -> Subject | None:
    """ "Which model is credited to Studio Ousia?" or "Does any other company have one?" answered by a list of rows:
    the row(s) it got."""
    # ("Which item in the numbered concepts list is a GAN-based architecture?": the entry its answer gave)
    which = _WHICH_ENTRY.match(exchange.question.strip()) and not exchange.refers_back
    listed = is_list_question(exchange.question) or _LISTED.search(exchange.answer) or which
    found = context.names.find(exchange.answer) if listed else []
    return context.entry(found, exchange.question) if found else None


def _new_entry_given(exchange: _Exchange, context: _Context) -> Subject | None:
    """ "Is there a specific strategy of that kind in the glossary?": the new entry its answer gave."""
    if not (exchange.answer and _ASKS_FOR_ENTRY.search(exchange.question) and exchange.refers_back):
        return None
    before = context.before(exchange)
    known = {before.entry_id, *(context.names.find(" ".join(before.others)) if before.others else [])} if before else set()
    found = [e for e in context.names.find(exchange.answer) if e not in known]
    return context.entry(found, exchange.question) if found else None


def _answer_of_standalone(exchange: _Exchange, context: _Context) -> Subject | None:
    """The latest question, "What's the name for a snapshot of the weights?", stands alone and names nothing: the
    entry its answer gave."""
    question = exchange.question.strip()
    if not exchange.answer or not exchange.latest or exchange.refers_back or _FRAGMENT.match(question) \
            or _ELLIPSIS.match(question):
        return None
    found = context.names.find(exchange.answer)
    return context.entry(found, exchange.question) if found else None


def _more_of_before(exchange: _Exchange, context: _Context) -> Subject | None:
    """ "Give me an example." only asks the answer before to go on: it is about what that was about, not about a
    model its answer names in passing ("... fine-tune a model like GPT-3 with LoRA ...")."""
    return context.before(exchange) if asks_for_more(exchange.question) else None


SUBJECT_RULES: tuple[Callable[[_Exchange, _Context], Subject | None], ...] = (
    _named_in_question, _defined_term, _rows_listed, _new_entry_given, _more_of_before, _answer_of_standalone)


def asks_for_more(question: str) -> bool:
    """Whether the question only asks the last answer to go on: "how so?", "why?", "tell me more", "example?"."""
    stripped = question.strip()
    return bool(_ELLIPSIS.match(stripped) or _REQUEST.match(stripped))


def points_back(question: str) -> bool:
    """True when the question refers to something said before (pronoun, "this technique", bare "that", "there")."""
    pronoun = _PRONOUN.search(question) and not _EXPLETIVE.search(question)
    return bool(pronoun or _DEMONSTRATIVE.search(question) or _OTHER.search(question) or _BARE.search(question)
                or _CREATOR_REF.search(question) or _ONE.search(question) or _THERE.search(question))


def _about(question: str, subject: str) -> str:
    """The question with its subject attached: "Why? (about Whisper)" reads "Why (about Whisper)?"."""
    return prompts.CONDENSE_TEMPLATE.format(question=question.rstrip(" ?.!"), subject=subject) + "?"


def about_last_subject(question: str, history: History, names: NameIndex, titles: dict[str, str],
                       numbers: dict[str, str] | None = None) -> str | None:
    """The question read as about the conversation's last subject ("same company each time (about BEiT)?"),
    or None when it names an entry of its own (it is about that) or no earlier exchange gives an entry. Whether that
    is the reading meant is for the caller to decide: the Assistant keeps it only when the material cannot answer the
    question as it stands and can answer this reading (see ``Assistant._standalone``)."""
    history = history[-2 * MAX_EXCHANGES:]
    if not history or names.find(question):
        return None
    subject = last_subject(history, names, titles, names.kinds, numbers)
    return _about(question, subject.text) if subject is not None and subject.entry_id else None


def _replace_reference(question: str, subject: str) -> str:
    """The first back-reference replaced by the subject ("its" -> "Whisper's")."""
    for pattern in (_DEMONSTRATIVE, _BARE, _PRONOUN):
        found = None if pattern is _PRONOUN and _EXPLETIVE.search(question) else pattern.search(question)
        if found is None:
            continue
        if pattern is _BARE:
            group = 2 if found.group(2) else 5  # "about that" or, at the end, "in that"
            start, end = found.span(group)
            word = found.group(group)
        else:
            start, end = found.span()
            word = found.group(1)
        replacement = f"{subject}'s" if word.lower() in ("its", "their", "theirs") else subject
        return question[:start] + replacement + question[end:]
    return _about(question, subject)


def _field_question(field: str, subject: str) -> str:
    field = field.lower()
    if field in ("creator", "maker", "developer", "company", "author"):
        return f"Who created {subject}?"
    if field in ("output", "outputs"):
        return f"What does {subject} generate?"
    if field in ("definition", "meaning"):
        return f"What is {subject}?"
    if field.startswith("example"):
        return f"What is an example of {subject}?"
    if field == "acronym":
        return f"What does {subject} stand for?"
    return f"What is the {field} of {subject}?"


def name_numbered(question: str, history: History, names: NameIndex, titles: dict[str, str],
                  numbers: dict[str, str]) -> str:
    """`question` with a place in the article's numbered list named by its entry: "What's concept number 17?" ->
    "What's Adetailer?", and after a turn about Textural Inversion (number 14) "And the concept right after it?" ->
    "And Embedding?". Unchanged when it names no place, or no entry has that number."""
    by_number = {number: entry for entry, number in numbers.items()}
    found = _NUMBERED.search(question)
    if found:
        entry = by_number.get(str(int(found.group("n") or found.group("m") or found.group("o"))))
        return question[:found.start()] + titles.get(entry, entry) + question[found.end():] if entry else question
    spelt = _NUMBERED_WORDS.search(question)
    previous = next((text for role, text in reversed(history) if role == "user"), "")
    if spelt is None and (_NUMBERED.search(previous) or _NUMBERED_WORDS.search(previous)):
        # "What's the first item in the numbered list?" -> "and the second?": the next place in the same list
        spelt = re.search(rf"\bthe (?:very )?(?P<w>{'|'.join(_PLACE_WORDS)}|last|final)(?: (?:one|item|entry|concept))?\b",
                          question, re.I)
    if spelt and by_number:
        place = spelt.group("w").lower()
        last = max(map(int, by_number))
        entry = by_number.get(str(last if place in ("last", "final") else _PLACE_WORDS.index(place) + 1))
        return question[:spelt.start()] + titles.get(entry, entry) + question[spelt.end():] if entry else question
    nearby = _NEXT_TO.search(question)
    subject = last_subject(history, names, titles, names.kinds, numbers) if nearby and history else None
    number = numbers.get(subject.entry_id) if subject else None
    if not nearby or not number:
        return question
    step = 1 if (nearby.group("dir") or nearby.group("dir2")).lower() in ("after", "following", "next") else -1
    entry = by_number.get(str(int(number) + step))
    return question[:nearby.start()] + titles.get(entry, entry) + question[nearby.end():] if entry else question


def condense(question: str, history: History | None, names: NameIndex, titles: dict[str, str],
             creators: dict[str, str] | None = None, outputs: dict[str, str] | None = None,
             numbers: dict[str, str] | None = None) -> str:
    """A standalone query for `question` given earlier (role, text) turns; unchanged unless it is a follow-up
    or names a place in the article's numbered list (`numbers`: entry id -> its number there).
    Only the last MAX_EXCHANGES exchanges are read (a follow-up refers to what was just said).

    An ordinal ("the second one") is the item it points to; otherwise the question is read against the last
    subject by the rules of `RULES`, in order: the first that answers decides, and a question no rule
    rewrites or leaves alone has its reference ("it", "this technique") replaced by the subject."""
    history = (history or [])[-2 * MAX_EXCHANGES:]
    if numbers:
        question = name_numbered(question, history, names, titles, numbers)
    if not history:
        return question
    item = resolve_ordinal(question, history, names)
    subject = last_subject(history, names, titles, names.kinds, numbers)
    if item:
        # "Is it any different from the first?" after the second one: "it" is still the subject (but in "the Go one,
        # what does its output column say?" the one set first is what "its" stands for)
        # ("What does the table list the LoRA row as producing, and whose is it?": "it" is the row just named)
        if subject is not None and _PRONOUN.search(_ORDINAL.sub(" ", question)) and subject.text not in item \
                and not _EXPLETIVE.search(item) and not _LEAD_REFERENCE.match(question) \
                and not _refers_to_named(item, names):
            return _replace_reference(item, subject.text)
        return item
    if subject is None:
        return question
    turn = _read(question, history, subject, names, creators or {}, outputs or {})
    for rule in RULES:
        rewritten = rule(turn)
        if rewritten is not None:
            return rewritten
    return _replace_reference(turn.question, turn.subject.text)


@dataclass(frozen=True)
class _Turn:
    """A question being condensed, with what it is read against."""

    question: str
    history: History
    subject: Subject
    named: list[str]  # entry ids the question names itself
    names: NameIndex
    creator: str  # the subject's creator ("" when it has none)
    output: str  # what the subject generates ("" when it is no model)

    @property
    def stripped(self) -> str:
        return self.question.strip()

    @property
    def previous(self) -> str:
        """The last user question."""
        return next((text for role, text in reversed(self.history) if role == "user"), "")

    @property
    def titles_named(self) -> set[str]:
        return {self.names.titles_by_entry.get(e, e) for e in self.named}

    @property
    def names_subject(self) -> bool:
        return bool(self.subject.entry_id) and self.subject.entry_id in self.named


def _read(question: str, history: History, subject: Subject, names: NameIndex, creators: dict[str, str],
          outputs: dict[str, str]) -> _Turn:
    """The turn with its subject made precise: the model row when the question asks who made it or what it
    generates, all the entries the last question named when "they" are asked about, and a variant of the
    subject named ("the IO version" of Perceiver is the entry "Perceiver IO")."""
    if subject.row[0] and asks_about_fields(question):  # "What is the Transformer?" -> "Which lab built it?": the row
        subject = Subject(subject.row[1], subject.row[0], subject.asked)
    if subject.others and _PEOPLE.search(question) and not _MAKES.search(question):
        # "What are VAEs and GANs?" -> "How do they differ?": "they" are both
        subject = Subject(" and ".join((subject.text, *subject.others)), subject.entry_id, subject.asked)
    variant = _VARIANT.search(question)
    named_variant = _variant_of(subject, variant.group("q"), names) if variant and subject.entry_id else ""
    if variant and named_variant:  # "the video version" of Image to Image is Video to Video: the question names it
        # from here on ("And the video version?" is "And Video to Video?")
        question = question[:variant.start()] + named_variant + question[variant.end():]
    return _Turn(question, history, subject, names.find(question), names, creators.get(subject.entry_id, ""),
                 outputs.get(subject.entry_id, ""))


# A message that says it starts something new: "Totally unrelated: ...", "Different topic - ...", "New question, ..."
_ANNOUNCED = re.compile(r"^(\W*(ok(ay)?|so|now|and|but|also)\W+)?((totally|completely|entirely|somewhat|slightly|kind of|sort of|"
                        r"a bit)\s+)?((unrelated|off[- ]topic|(different|separate|new) (topic|subject|question|thing|matter)|"
                        r"(switching|changing) (gears|topics?|subjects?|the subject)|on (another|a different) (note|topic)|"
                        r"another (topic|subject|thing))\b|"
                        # "Back to AI: ...", "Back to the article, ..." after a digression (not "back to that", "back to it")
                        r"back to (?!(it|that|this|them|those|what|where|before|the (previous|earlier|last|other))\b)"
                        r"[\w' -]{1,30}[:,—–])", re.I)
# A lead-in that names what the question is about: "Swin Transformer: is that for image classification too?"
_LEAD_NAME = re.compile(r"^(?:(?:as for|about|regarding|now|and|ok(?:ay)?|so)\W+)?(?P<x>(?:[^:?,;—–-]|(?<=\w)-(?=\w)){2,60}?)"
                        r"\s*(?::|—|–| - |,)\s+"
                        r"(?=(what|who|whom|whose|which|how|why|when|where|is|are|was|were|does|do|did|can|could)\b)", re.I)


# --- the rules, in the order condense() tries them: each returns the query, or None to pass ----------------
def announces_new_topic(question: str) -> bool:
    """Whether a message says it starts something new ("Totally unrelated: ..."): it is no follow-up."""
    return bool(_ANNOUNCED.match(question.strip()))


def _new_topic(turn: _Turn) -> str | None:
    """A message that announces a new topic ("Totally unrelated: how long should a steak rest after it comes off
    the grill?"), or opens by naming the entry it asks about ("Swin Transformer: is that for image classification
    too?"), refers to nothing said before: its "it" and "that" are its own."""
    if announces_new_topic(turn.question):
        return turn.question
    lead = _LEAD_NAME.match(turn.stripped)
    # ("And fine-tuning, how does it relate?" relates the entry it names to the subject; "and BigBird, is it from the
    # same group?" compares it with the subject's maker)
    rest = turn.stripped[lead.end():] if lead else ""
    if lead is None or len(content_words(lead.group("x"))) > 4 \
            or re.search(r"\b(relat\w*|compar\w*|differ\w*|connect\w*|similar\w*|versus|vs)\b", rest, re.I) \
            or re.search(r"\b(the|that|this) same\b", rest, re.I) and _CREATOR_REF.search(rest):
        return None
    named = turn.names.find(lead.group("x"))
    return turn.question if named and turn.subject.entry_id not in named else None


def _switch_to_named(turn: _Turn) -> str | None:
    """ "What about StyleGAN?" / "And GPT-3?" after "Who made GANs?": the previous question about the new entry."""
    switch = _SWITCH.match(turn.stripped)
    subject = turn.subject
    asked = subject.asked or turn.previous  # the question the subject came from, or the last one
    if not (turn.named and switch and asked and subject.entry_id and not turn.names_subject):
        return None
    target = (switch.group("x") or switch.group("y") or "").strip()
    # the target is a name ("And GPT-3?"), not a question of its own ("So what's the difference from a GAN?")
    # ("and MuZero, same lab?" compares with the subject: see _other_side)
    if not target or set(turn.names.find(target)) != set(turn.named) or len(content_words(target)) > 4 \
            or _QUESTION_LEAD.match(target) or _OWN_QUESTION.search(target) or _ONE_SIDED.search(target) \
            or _ANALOGY.search(target):  # "and the DALL-E example?": the subject's example, which names DALL-E
        return None
    previous = _swap_subject(asked, subject, turn.names)
    if not previous:
        return None
    if re.search(r"\b(a|an|the)\s+\x00", previous, re.I):  # "What is a VAE?" + "And a GAN?"
        target = re.sub(r"^(a|an|the)\s+", "", target, flags=re.I)
    return previous.replace("\x00", unify(target))


def _narrowed_list(turn: _Turn) -> str | None:
    """ "Which of those generate images?" after a list question: that question, narrowed."""
    among = _AMONG.match(turn.stripped)
    if among and is_list_question(turn.previous):
        return f"{turn.previous.rstrip(' ?.')} that {among.group('rest')}?"
    return None


def _request(turn: _Turn) -> str | None:
    """ "Can you give an example?", "give me a real-world use": about the subject."""
    return _about(turn.stripped, turn.subject.text) if not turn.named and _REQUEST.match(turn.stripped) else None


def _field_ellipsis(turn: _Turn) -> str | None:
    """ "And the creator?", "and which company?", "Generates what, exactly?": that field of the subject."""
    field = None if turn.named else _FIELD_ELLIPSIS.match(turn.stripped)
    if not field:
        return None
    asked = field.group("field") or field.group("field2") or ("output" if field.group("generates") else
                                                              "acronym" if field.group("acronym") else "creator")
    return _field_question(asked, turn.subject.text)


def _ellipsis(turn: _Turn) -> str | None:
    """ "Why?", "How so?", "And for images?": about the subject ("What about image classification models?" is a
    new list, and a fragment with a pronoun has it replaced instead)."""
    stripped = turn.stripped
    fragment = _ELLIPSIS.match(stripped) or _FRAGMENT.match(stripped) and not is_list_question(stripped)
    return _about(stripped, turn.subject.text) if not turn.named and fragment and not _PRONOUN.search(stripped) else None


# The conversation itself as what is asked about: "what sort of extra input are we talking about?", "... in this case?"
_IN_CONVERSATION = re.compile(r"\b(are|were) we (talking|speaking) about\b|\bwe('re| are) (talking|speaking) about\b"
                              r"|\bin (this|that) case\W*$|\bhere\W*$", re.I)


def _continuation(turn: _Turn) -> str | None:
    """ "and which configurations end up with low energy?": a question that opens with "and" or "but" and names
    nothing goes on about the subject, however long it is (one that points back has its pointer replaced later);
    so does one that asks about what "we are talking about"."""
    opens = re.match(r"^(and|but|also|so)\b", turn.stripped, re.I) or _IN_CONVERSATION.search(turn.stripped)
    return _about(turn.stripped, turn.subject.text) if opens and not turn.named and not points_back(turn.question) else None


def _other_side(turn: _Turn) -> str | None:
    """ "So what's the difference from a GAN?": the other side of the comparison is the subject."""
    if turn.named and turn.subject.entry_id and not turn.names_subject and _ONE_SIDED.search(turn.question) \
            and len(turn.titles_named) == 1 and not points_back(turn.question):
        return _about(turn.question, turn.subject.text)
    return None


def _definite_phrase(turn: _Turn) -> str | None:
    """ "Why bother training the small model?" after an answer about knowledge distillation."""
    question = turn.question
    # "and the DALL-E example?": a model row named in the phrase is what the subject's example is about (but "the
    # GAN analogy" is GANs' own)
    example = _ANALOGY.search(question)
    of_a_row = example is not None and set(turn.named) == set(turn.names.find(example.group(0))) \
        and all(turn.names.kinds.get(e) == "model" for e in turn.named)
    if (not turn.named or of_a_row) and not is_list_question(question) and not points_back(question) \
            and definite_reference(question, turn.history):
        return _about(question, turn.subject.text)
    return None


# "is there any other loss function in the glossary?", "is there another way to do it?": other than the subject
_ANOTHER = re.compile(r"\b(any other|another|any more)\s+(?!(one|ones|topic|subject|thing|question|note)\b)[\w-]+", re.I)


def _another(turn: _Turn) -> str | None:
    """ "Is there any other loss function in the glossary?" after Perceptual Loss: another than the subject, which a
    question naming no entry of its own is read against."""
    # (a list question, "any other picture makers from independent creators?", lists the table's rows itself)
    if not turn.named and _ANOTHER.search(turn.question) and not points_back(turn.question) \
            and not is_list_question(turn.question):
        return _about(turn.question, turn.subject.text)
    return None


def _same_output(turn: _Turn) -> str | None:
    """ "Which other entry has that same output?" after AlphaStar: the rows that generate what it generates."""
    if turn.output and not turn.named and _SAME_OUTPUT.search(turn.question):
        return f"Which models other than {turn.subject.text} generate {turn.output}?"
    return None


def _stands_alone(turn: _Turn) -> str | None:
    """A question that refers to nothing before, or names the subject itself, is searched as asked; so is one
    whose "the same" compares the entries it names ("Are CodexGLM and Codex from the same company?"), whose
    "it" is the entry it just named ("What does DiffusionBee generate, and who made it?"), or whose "they" is
    its own topic ("What are deepfakes and why are they a concern?") or a phrase it introduced ("Is there a
    technique where some words are hidden and the model has to guess them?")."""
    question = turn.question
    if not points_back(question) or turn.names_subject:
        return question
    if len(turn.titles_named) >= 2 and re.search(r"\bthe same\b", question, re.I) \
            and not (_PRONOUN.search(question) or _DEMONSTRATIVE.search(question)):
        return question
    if turn.named and _refers_to_named(question, turn.names) and not (
            _DEMONSTRATIVE.search(question) or _BARE.search(question) or _CREATOR_REF.search(question)
            or _RELATED_TO_IT.search(question) or turn.creator and _FROM_THEM.search(question)):
        return question
    # "Is T5 a Google model or a Microsoft one?": "a <kind> one" in a question naming its own entry is that entry's kind
    if turn.named and _A_KIND_ONE.search(question) and not (_PRONOUN.search(question) or _DEMONSTRATIVE.search(question)
                                                            or _BARE.search(question) or _OTHER.search(question)):
        return question
    return question if _asks_about_its_own_topic(question) or _antecedent_within(question) else None


def _that_company(turn: _Turn) -> str | None:
    """ "What else did that lab build?": the subject's creator; the subject itself when it has none listed."""
    question = turn.question
    if not _CREATOR_REF.search(question):
        return None
    if turn.creator:
        return _CREATOR_REF.sub(lambda m: turn.creator + ("'s" if m.group(3) else ""), question, count=1)
    if not (_PRONOUN.search(question) or _DEMONSTRATIVE.search(question) or _BARE.search(question)):
        return _about(question, turn.subject.text)
    return None


def _the_other_one(turn: _Turn) -> str | None:
    """ "What is the second phase?", "What is the decoder's job in one?": about the subject."""
    question = turn.question
    if (_OTHER.search(question) or _ONE.search(question)) and not (_PRONOUN.search(question) or _DEMONSTRATIVE.search(question)):
        return _about(question, turn.subject.text)
    return None


def _their_makers(turn: _Turn) -> str | None:
    """ "Who created StyleGAN?" -> "What else did they make?": "they" who make things are its creator."""
    people = _PEOPLE.search(turn.question)
    makers = _MAKES.search(turn.question) and _asked_for_creator(turn.subject.asked)
    if turn.creator and people and (makers or _FROM_THEM.search(turn.question)):  # "is Copilot from them as well?"
        owner = turn.creator + ("'s" if people.group(1).lower() == "their" else "")
        return turn.question[:people.start()] + owner + turn.question[people.end():]
    return None


RULES: tuple[Callable[[_Turn], str | None], ...] = (
    _new_topic, _switch_to_named, _narrowed_list, _request, _field_ellipsis, _ellipsis, _continuation, _other_side,
    _definite_phrase, _same_output, _another, _stands_alone, _that_company, _the_other_one, _their_makers)


def listed_items(history: History, names: NameIndex, among: bool = False) -> list[str]:
    """What the last exchanges listed, in order: the rows of a list answer (one of the last two, so "the
    first one" may follow "the second one"), else the entries the last question named when it named two
    or more ("How does a VAE differ from a GAN?"), else those the last answer named besides. A question that
    says "of those" (`among`) points into the last answer's words: every entry it names besides what was asked
    ("... essential in autoencoders and sequence-to-sequence models": "the second of those" is Seq2Seq)."""
    history = [(role, text) for role, text in history if not (role == "assistant" and text.startswith(_REFUSAL))]
    for answer in [text for role, text in reversed(history) if role == "assistant"][:2]:
        rows = [m.group("name").strip() for m in _LISTED.finditer(answer)]
        if rows:
            return rows
    asked = next((text for role, text in reversed(history) if role == "user"), "")
    if _ORDINAL.search(asked) and len(history) > 2:
        # "who's behind the second one?" -> "and the first one?": an item of the list the second one came from
        earlier = listed_items(history[:-2], names, among)
        if earlier:
            return earlier
    found = names.find(asked)
    answer = next((text for role, text in reversed(history) if role == "assistant"), "")
    if among or found and not set(found) & set(names.find(answer)):
        # "... generative models like Latent Diffusion and Stable Diffusion are based on this": "the first of those" is
        # the first of the answer's last enumeration, when it enumerates entries; so is "the second one" after "which
        # model families does it call popular?", which named entries of its own (by their words) that the answer,
        # "... include GANs, VAEs, and Transformer-based models", does not
        items = coordinated(answer)
        if sum(bool(names.find(i)) for i in items) >= 2:
            return items
    if len(found) < 2 and among:
        body = re.sub(r"^[^:\n]{2,80}:\s", "", answer)  # past the "Decoder:" lead that names what was asked
        known = set(found) | {e for e in names.find(answer[: len(answer) - len(body)]) if body != answer}
        found = [e for e in names.find(body) if e not in known]
        if re.search(r"\bmodels\b", asked):  # ("which well-known models does the article say run on it?": its models)
            found = [e for e in found if names.kinds.get(e) == "model"] or found
        if len(found) < 2:  # things the answer lists that are no entries of their own: the words it lists them in
            return coordinated(body)
    elif len(found) < 2:
        # "Models like GPT-3 as well as ... DALL-E 2 leverage transformer architectures": the models the answer
        # names by their proper names (not "transformer" as a common noun)
        def proper(entry: str) -> bool:
            return any(n != n.lower() and re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", answer) for n in names.names_of(entry))

        found = [e for e in names.find(answer) if names.kinds.get(e) == "model" and proper(e)]
    return [names.titles_by_entry.get(e, e) for e in found] if len(found) >= 2 else []


# Words that end a listed item or come before it: "essential in autoencoders", "like machine translation"
_EDGE = STOPWORDS | {"even", "also", "both", "either", "essential", "used", "such", "like", "including", "e.g"}


def coordinated(text: str) -> list[str]:
    """The items of the last list a text makes ("... essential in autoencoders and sequence-to-sequence models." ->
    ["autoencoders", "sequence-to-sequence models"]; "images, text, music, or even entire virtual worlds" -> four),
    each cut to its words between function words; [] when it makes none. Read back from its last "and"/"or": the
    items before it are the comma-separated phrases of plain words, and the first is where a function word ends."""
    sentences = [t for t in re.split(r"(?<=[.!?])\s+|\[\d+\]", text.strip()) if re.search(r"\s(and|or)\s", t)]
    if not sentences:
        return []
    head, _, last = _split_last(sentences[-1])

    def plain(words: list[str]) -> list[str]:
        while words and words[0].lower() in _EDGE:
            words = words[1:]
        end = next((i for i, w in enumerate(words) if w.lower() in _EDGE), len(words))
        return words[:end]

    items = [" ".join(plain(last.split()))]
    segments = [p for p in re.split(r",\s*", head.rstrip(", ")) if p.strip()]
    for n, segment in enumerate(reversed(segments)):
        words = segment.split()
        edges = [i for i, w in enumerate(words[:-1]) if w.lower().strip("'") in _EDGE]
        if edges:  # "essential in autoencoders": the list starts after "in", and its first item is no longer
            longest = max(len(i.split()) for i in items)  # than the others ("they underpin machine translation")
            items.insert(0, " ".join(plain(words[edges[-1] + 1:])[-longest:]))
            break
        if n == len(segments) - 1:  # "Popular families include VAEs": as long as the shortest other item
            size = min(len(i.split()) for i in items)
            while size < len(words) and words[-size - 1][:1].isupper():  # ... or the whole name: "Generative Adversarial
                size += 1  # Networks (GANs)"
            words = words[-size:]
        items.insert(0, " ".join(plain(words)))
    items = [i for i in items if i]
    return items if len(items) >= 2 else []


def _split_last(sentence: str) -> tuple[str, str, str]:
    """A sentence split at its last "and"/"or": (before, conjunction, after, to the first punctuation)."""
    found = list(re.finditer(r",?\s(and|or)\s", sentence))[-1]
    after = re.split(r"[,;:.()!?]", sentence[found.end():])[0]
    return sentence[:found.start()], found.group(1), after


# A reference set before the question as its topic: "the Go one, what does its output column say?"
_LEAD_REFERENCE = re.compile(r"^\W*((and|so|ok|okay)\W+)?the\s+[\w-]+(\s+[\w-]+){0,2}?(\s+one)?\s*[,:—–]\s", re.I)
# "those two", "both of them": the two items of the last exchange together
_PAIR_NEXT = (r"(are|is|were|actually|really|the same|any|different|do|does|differ|have|has|had|share|shared|use|used|"
              r"trained|made|built|created|developed|come|came|generate|produce|make|work|belong|overlap|both|also|still)\b")
# (the entries themselves: "the two settings" of Domain Adaptation's definition are no two entries)
_PAIR_NOUN = (r"(models|entries|rows|ones|concepts|techniques|methods|approaches|terms|ideas|systems|tools|networks|"
              r"architectures|items|versions|variants|generators|frameworks|options|things|[\w-]+-models|[\w-]+ models)")
_PAIR = re.compile(rf"\b(those|these|the) two( {_PAIR_NOUN})?(?= {_PAIR_NEXT}|\W*$)|\bboth of (them|those|these)\b"
                   r"|\b(the|those|these) two of (them|those|these)\b"
                   # "which of the two fits a robot trained in a simulator?"
                   r"|(?<=\bof )(the|those|these) two\b(?!\s+([\w-]+\s+)?of\b)"
                   # "same lab for both?"
                   r"|(?:(?<=\bfor )|(?<=\bof )|(?<=\bby )|(?<=\bto )|(?<=\bin )|(?<=\bbehind ))both(?=\W*$)",
                   re.I)
# "the real-time strategy one", "the Google model": the listed row whose line holds those words
_DESCRIBED = re.compile(r"\bthe (?P<d>[\w-]+(?: [\w-]+){0,2}) (one|model|entry|row|system)\b", re.I)
_NO_DESCRIPTION = frozenset({*_ORDINALS, "last", "other", "same", "latter", "former", "next", "previous"})


def _described_item(question: str, history: History, names: NameIndex | None = None) -> tuple[re.Match[str], str] | None:
    """The reference "the <words> one" and the one row of the last list answer whose line ("- AlphaStar — creator:
    DeepMind — generates: Real-time Strategy Game Play") holds all its words; with no list answer, the one entry of
    those the last exchanges named whose title holds them ("the video one" after Image to Image and Video to Video);
    else None."""
    found = _DESCRIBED.search(question)
    if found is None or set(found.group("d").lower().split()) & _NO_DESCRIPTION:
        return None
    wanted = {stem(table_word(w)) for w in content_words(found.group("d"))}  # "the picture one": Image to Image
    for answer in [text for role, text in reversed(history) if role == "assistant"][:2]:
        lines = [(line, m) for line in answer.splitlines() if (m := _LISTED.match(line))]
        if lines:
            rows = [m.group("name").strip() for line, m in lines if wanted and wanted <= {stem(w) for w in content_words(line)}]
            return (found, rows[0]) if len(rows) == 1 else None
    items = listed_items(history, names) if names is not None and wanted else []
    titled = [item for item in items if wanted <= {stem(w) for w in content_words(item)}]
    return (found, titled[0]) if len(titled) == 1 and len(items) > 1 else None


def _last_two_subjects(history: History, names: NameIndex) -> list[str]:
    """The two entries the last answer names, or the one it names and the subject before it when they differ ("Who's
    behind LLaMA?", "And the 2 version?" answered with LLaMA-2: "the two of them" are LLaMA and LLaMA-2), or the
    subjects of the last two exchanges; else []."""
    titles = names.titles_by_entry
    answer = next((text for role, text in reversed(history) if role == "assistant"), "")
    named = list(dict.fromkeys(titles.get(e, e) for e in names.find(answer))) if not answer.startswith(_REFUSAL) else []
    if len(named) == 2:
        return named
    subject = last_subject(history, names, titles, names.kinds)
    if subject is None or not subject.entry_id:
        return []
    if len(named) == 1 and subject.text != named[0]:
        return [subject.text, named[0]]
    # ("Which component squeezes the sentence?" -> Encoder, "and which part turns that into the output?" -> Decoder)
    before = last_subject(history[:-2], names, titles, names.kinds) if len(history) > 2 else None
    return [before.text, subject.text] if before is not None and before.entry_id and before.text != subject.text else []


def resolve_ordinal(question: str, history: History, names: NameIndex) -> str:
    """`question` with "the second one" / "the latter" replaced by that item of the last exchange, or ''
    when it has no such reference (or the item does not exist). "And the first one?" after "Who made the
    second one?" asks that question again about the first item. "Those two" are both items of a list of two,
    and "the real-time strategy one" the listed row that line describes."""
    pair = _PAIR.search(question)
    if pair:
        items = listed_items(history, names) or _last_two_subjects(history, names)
        if len(items) == 3 and len(history) > 2:
            # "what else does that company have?" listed Megatron-LM (asked about before) and two others:
            # "those two" are the others
            before = last_subject(history[:-2], names, names.titles_by_entry, names.kinds)
            if before is not None:
                items = [i for i in items if i != before.text]
        return question[:pair.start()] + " and ".join(items) + question[pair.end():] if len(items) == 2 else ""
    described = _described_item(question, history, names)
    if described:
        return question[:described[0].start()] + described[1] + question[described[0].end():]
    found = _ORDINAL.search(question)
    items = listed_items(history, names, among=bool(found.group("of"))) if found else []
    if not found or not items:
        return ""
    word = (found.group("n") or found.group("n2")).lower()
    index = _ORDINALS.index(word) if word in _ORDINALS else {"last": -1, "latter": -1, "former": 0}[word]
    if index >= len(items):
        return ""
    item = items[index]
    if _FRAGMENT.match(question.strip()) and len(content_words(question[:found.start()] + question[found.end():])) == 0:
        previous = next((text for role, text in reversed(history) if role == "user"), "")
        earlier = _ORDINAL.search(previous)
        if earlier:  # "Who made the second one?" -> "And the first one?": the same question about the first item
            return previous[:earlier.start()] + item + previous[earlier.end():]
    return question[:found.start()] + item + question[found.end():]


def definite_reference(question: str, history: History) -> bool:
    """Whether the question uses a definite phrase that only the last exchange explains: "the small
    model" after an answer about "a smaller, more efficient model", "the forger" after the art-forger
    analogy, or a bare "the idea". A phrase about the material ("the table") or made of common words
    ("the models that ...") does not count."""
    if _BARE_IDEA.search(question) or _ANALOGY.search(question):
        return True
    # the last answer's words: not the last question's ("the capital of France" -> "the capital of Germany" is
    # a new question), nor a refusal's, which only echoes the question
    answer = next((text for role, text in reversed(history) if role == "assistant"), "")
    last = [] if answer.startswith(_REFUSAL) else [answer]
    seen = {re.sub(r"['’]s$", "", w) for text in last for w in content_words(text)}
    for found in re.finditer(r"\bthe\s+((?:[\w’'-]+\s+){0,2}[\w’'-]+)", question, re.I):
        phrase: list[str] = []
        for word in found.group(1).lower().split():
            if word not in content_words(word):
                break
            phrase.append(re.sub(r"['’]s$", "", word))
            if phrase[-1] != word:  # "the forger's goal": the phrase ends at its possessive
                break
        # at the end of a question, its last word may be the verb: "the loop" in "when does the loop stop?"
        ends = len(phrase) > 1 and not question[found.end():].strip(" ?.!")
        for said in (phrase, phrase[:-1]) if ends else (phrase,):
            if set(said) & _MATERIAL_NP or set(said) <= _GENERIC_NP:
                continue
            if all(any(w == s_ or len(w) >= 4 and s_.startswith(w) for s_ in seen) for w in said):
                return True
    return False


def _variant_of(subject: Subject, qualifier: str, names: NameIndex) -> str:
    """The title of the entry that is `subject` with `qualifier` ("Perceiver" + "IO" -> "Perceiver IO"),
    or '' when the material has no such entry."""
    own = words(subject.text)
    q = normalize(qualifier)
    wanted = [set(own) | {q}]
    # a medium for a medium: the last medium the subject names, wherever it occurs, then the first one
    media = [w for w in own if w in _MEDIA]
    if q in _MEDIA and media:
        wanted += [{q if w == m else w for w in own} for m in dict.fromkeys((media[-1], media[0]))]
    for want in wanted:
        for entry_id, title in names.titles_by_entry.items():
            if entry_id != subject.entry_id and any(set(words(name)) == want for name in names.names_of(entry_id)):
                return title
    return ""


def _asked_for_creator(asked: str) -> bool:
    return bool(asked and re.search(r"\b(who|whom|whose|company|lab|organi[sz]ation|creator|maker|made by|created by)\b",
                                    asked, re.I))


def _swap_subject(asked: str, subject: Subject, names: NameIndex) -> str:
    """`asked` with the subject's name replaced by a placeholder, or '' when the name is not in it."""
    for name in sorted(names.names_of(subject.entry_id), key=len, reverse=True):
        spelt = r"[\s-]+".join(map(re.escape, name.split()))  # "image-to-image" is "Image to Image"
        found = re.search(rf"(?<![\w-]){spelt}(?![\w-])", asked, re.I)
        if found:
            return asked[:found.start()] + "\x00" + asked[found.end():]
    return ""


def _asks_about_its_own_topic(question: str) -> bool:
    """Whether the question's first pronoun follows a clause that asks about a topic of its own
    ("What are deepfakes and why are they ...", "How does pruning work, and why is it ...")."""
    pronoun = _PRONOUN.search(question)
    if pronoun is None:
        return False
    clause = re.split(r"\s*(?:,|;|\band\b|\bbut\b)\s*", question[: pronoun.start()])[0]
    return clause != question[: pronoun.start()] and bool(definition_term(clause + "?") or topic_phrase(clause + "?")
                                                           or _WHICH_CLAUSE.match(clause) and not points_back(clause)
                                                           and not _OTHER_THAN.search(clause))


# "Which EU law regulates deepfakes, and what does it require?": a clause asking which thing does something, whose
# answer the pronoun after it stands for (not "What does ...": the thing asked about comes after the verb)
_WHICH_CLAUSE = re.compile(r"^(which|what)\s+(?!(is|are|was|were|does|do|did|can|could|would|should|has|have|had|about|if|"
                           r"'s|s)\b)[\w-]+\s+[\w-]+\s+[\w-]+", re.I)
_OTHER_THAN = re.compile(r"\b(other|others|else|another|more)\b", re.I)  # "which other row ...": other than the subject


# A pronoun whose antecedent the question itself gives: "some words are hidden and the model has to guess them"
# (an indefinite plural, then a clause), "Which entry in the table has a Greek letter in its name?" (the asked
# subject of a verb; not "What does the article compare its networks to?", whose "its" is something said before)
_OWN_PLURAL = re.compile(r"\b(some|several|many|few|multiple|certain|two|three|four|five)\s+([\w-]+\s+){0,2}?[\w-]+s\b"
                         r"[^?]*?(\band\b|\bthat\b|\bwhich\b|\bwhere\b|\bso\b|\bbut\b|,)[^?]*?\b(they|them|their)\b", re.I)
# "How does the list say text-to-video systems usually get their clips?": a kind of thing, in the plural, before "their"
# (not "Which models use them?": "them" is something else; nor "those models", which points back itself)
_OWN_KIND = re.compile(r"\b(?!(those|these|such|the|both|two|of)\b)[\w-]+\s+(systems|models|networks|tools|generators|"
                       r"architectures|methods|techniques|apps|companies|researchers|developers|artists|users|people)\s+"
                       r"(?!(it|its|they|them|their)\b)[^?]*?\btheir\b", re.I)
# "a glossary entry for taking a model trained in one setting and making it work in a related one": "it" is the thing
# an activity was done to, named just before
_OWN_OBJECT = re.compile(r"\b[a-z]{2,}ing\s+(a|an)\s+([\w-]+\s+){0,2}?[\w-]+\b[^?]*?\b(it|its)\b"
                         # "Does Microsoft have a text model in the table with 'Turing' in its name?": the model asked for
                         r"|\b(a|an|any)\s+([\w-]+\s+){0,2}?(model|row|entry|system|tool|generator)\b[^?]*?\bits\b"
                         # "a method that gets a smaller model by training it to imitate a big one": the model just named
                         r"|\b(a|an|any)\s+([\w-]+\s+){0,2}?(model|network|system|generator|image|picture|text)s?\s+"
                         r"(by|through|via|after|before|while|when|and then)\s+[a-z]+ing\s+(it|them)\b"
                         # "Which row evaluates text rather than generating it?": the object of the verb set against
                         r"|\b(rather than|instead of|but not|and not)\s+[a-z]+\s+(it|them)\b"
                         # "once I've got the picture, can AI make it bigger?": the thing a clause put first names
                         r"|^(\W*(ok|okay|and|so|but)\W+)*(once|when|after|if|whenever)\b[^?,]*?\b(a|an|the|my|our|your)\s+"
                         r"[\w-]+[^?,]*,[^?]*?\b(it|its)\b", re.I)
_OWN_SUBJECT = re.compile(r"^(which|what)\s+([\w'-]+\s+){1,5}?(?!(does|is|was|has been)\b)(?<!\bthe )(?<!\ban )(?<!\ba )"
                          # (not "which niche areas does its example mention?": the noun is the object of "does")
                          r"[a-z]+s\s+(?!(it|its|they|them|their|does|do|did|is|are|was|were|can|could|will|would)\b)"
                          r"[^?]*?\bits\b", re.I)


# "What about getting text out of speech recordings, which rows do that?": "that" is the activity the question leads with
_OWN_ACTIVITY = re.compile(r"^(what|how) about\s+[\w-]+ing\b[^?,]*,[^?]*\b(do|does|did|doing|handle|handles|support|supports)"
                           r"\s+(that|this|it)\b", re.I)


def _antecedent_within(question: str) -> bool:
    """Whether the question's first pronoun (or a bare "that" after the activity it leads with) refers to something
    the question itself introduced before it."""
    if _OWN_ACTIVITY.match(question):
        return True
    pronoun = _PRONOUN.search(question)
    if pronoun is None:
        return False
    upto = question[: pronoun.end()]
    return bool(_OWN_PLURAL.search(upto) or _OWN_SUBJECT.match(upto) or _OWN_KIND.search(upto) or _OWN_OBJECT.search(upto))


def _refers_to_named(question: str, names: NameIndex) -> bool:
    """Whether the question's first pronoun comes after an entry it names (and so refers to it)."""
    pronoun = _PRONOUN.search(question)
    if pronoun is None:
        return False
    before = question[: pronoun.start()]
    return bool(names.find(before))
