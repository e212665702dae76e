"""Answers built from the entries themselves, without an LLM: who made a model, what it generates,
what a term is, how two entries compare, and which models match a list question.

Each sentence is made from an entry's fields or its own definition sentence, so it says exactly
what the material says, in a sentence a person would write ("Whisper was created by OpenAI; it
generates transcribed text [1]."). Every citation's quote is the entry's verbatim text (the model
row, or the definition sentence), checked with :func:`~assistant.citations.verify_quote`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant import prompts
from assistant.citations import is_heading, split_sentences, verify_quote
from assistant.intent import ABOUT_NAMED, Intent, Kind
from assistant.relevance import is_aside
from assistant.stages import NodeView
from assistant.text import normalize
from assistant.types import Answer, Citation, Passage

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore

_GENERIC_SUBJECT = (r"(technique|techniques|model|models|method|methods|approach|process|concept|term|architecture|"
                    r"architectures|network|networks|algorithm|algorithms|framework|frameworks|type|kind|mechanism|"
                    r"tool|tools|system|systems|field|dataset|format|file format|metric|strategy|component|library)")
# A sentence that opens by pointing at its entry: "This technique leverages ...", "It is ...", "These models ..."
_POINTING_LEAD = re.compile(rf"^(This|These|That|Those|It|They|Such)(\s+{_GENERIC_SUBJECT})?\b(?!\s*,)")
_DETERMINERS = frozenset({"This", "These", "That", "Those", "Such"})
_VERB_NEXT = re.compile(r"^\s*(is|are|was|were|has|have|had|can|could|will|would|may|might|should|must|does|do|did|"
                        r"allows?|enables?|means|involves|helps?|makes?|gives?|lets?|uses?|works?|['’]s)\b")
_CONTINUES = re.compile(r"^((and|but|or|so|also),? )?(it|they|this|these|that|those|its|their)\b|^(and|but|or|also)\b", re.I)
_ARTICLE_LEAD = re.compile(r"^(A|An|The|One)\s+\S")
# "The process of ...", "The degree to which ...", "The textual input provided ...": a definition's noun phrase,
# unlike "The student shows their draft work".
_THE_NOUN_PHRASE = re.compile(r"^The (\S+ ){1,2}(of|to|for|provided|used)\b")
# A sentence with its own verb before any relative clause ("The generated results can be ...") is not a
# noun phrase that "X is ..." could lead ("A loss function used in ..., that measures ...").
_CLAUSE = re.compile(r"^(?:(?!\b(?:that|which|who|where|whose)\b)[^,;:])*?(?<!\bit )(?<!\bthey )"
                     r"\b(is|are|was|were|can|could|will|would|may|might|has|have|had|should|must|does|do|did)\b", re.I)
_VERB_LEAD = re.compile(r"^(Refers|Involves|Describes|Represents|Uses|Allows|Enables|Means|Denotes|Provides|Combines|"
                        r"Generates|Creates|Produces|Helps|Leverages|Aims|Focuses|Consists|Converts|Transforms|Learns|"
                        r"Encodes|Measures|Evaluates|Stands)\b")
_UNNAMED_CREATORS = re.compile(r"^(various|independent|multiple|none|unknown|n/?a)\b", re.I)
MAX_SUBJECTS = 3


def _plural(title: str) -> bool:
    """Whether a title reads as plural: its acronym says so when it has one ("(VAEs)" yes, "(BERT)"
    no), else its last word ("Diffusion models" yes, "Beam Search" no)."""
    acronym = re.search(r"\(([^()]+)\)\s*$", title)
    if acronym and " " not in acronym.group(1).strip():
        return acronym.group(1).strip().endswith("s") and acronym.group(1).strip()[:-1].isupper()
    head = re.sub(r"\s*\(.*?\)\s*", " ", title).strip().split()
    word = head[-1] if head else ""
    return word.lower().endswith("s") and not word.lower().endswith(("ss", "us", "is")) and not word.isupper()


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    if len(first) > 1 and (first.isupper() or any(c.isupper() for c in first[1:])):
        return text  # an acronym or a name ("AI", "GPT-3")
    return text[:1].lower() + text[1:]


def lead(title: str, sentence: str) -> str:
    """The sentence as it reads in an answer about `title`: "This technique leverages X" ->
    "Neural Style Transfer leverages X"; "A heuristic search algorithm ..." -> "Beam Search is a
    heuristic search algorithm ..."; sentences that already name the entry are left as they are."""
    sentence = sentence.strip()
    plain_title = re.sub(r"\s*\(.*?\)", "", title).strip()
    if not title or normalize(sentence).startswith((normalize(title), normalize(plain_title))):
        return sentence
    pointing = _POINTING_LEAD.match(sentence)
    if pointing and pointing.group(2) is None and pointing.group(1) in _DETERMINERS \
            and not _VERB_NEXT.match(sentence[pointing.end():]):
        return f"{title}: {sentence}"  # "These learning paradigms enable ...": the noun phrase stays, led by the title
    if pointing:
        rest = sentence[pointing.end():]
        if re.match(r"^['’]s\b", rest):  # "It’s a fascinating application" -> "X is a fascinating application"
            rest = f" {'are' if _plural(title) else 'is'}{rest[2:]}"
        return f"{title}{rest}"
    parts = [p for p in re.split(r"\s+and\s+|/|&", plain_title) if len(p) >= 4]
    if len(parts) > 1 and any(normalize(sentence).startswith(normalize(p) + " ") for p in parts):
        return sentence  # "Fine-tuning involves ..." opens the section "Fine-Tuning and Model Personalization"
    first_clause = normalize(re.split(r"[,;:–—]", sentence, maxsplit=1)[0])
    if (sentence.startswith("The ") or sentence.startswith("In ")) and normalize(plain_title) in first_clause:
        return sentence  # "In adversarial training, you set up ..." names its entry itself
    if _ARTICLE_LEAD.match(sentence) and (_CLAUSE.match(sentence) or sentence.startswith("The ")
                                          and not _THE_NOUN_PHRASE.match(sentence)):
        return f"{title}: {sentence}"
    if _ARTICLE_LEAD.match(sentence):
        return f"{title} {'are' if _plural(title) else 'is'} {_lower_first(sentence)}"
    if _VERB_LEAD.match(sentence):
        verb = sentence.split(" ", 1)
        if _plural(title) and verb[0].endswith("s") and len(verb) > 1:
            return f"{title} {verb[0][:-1].lower()} {verb[1]}"
        return f"{title} {_lower_first(sentence)}"
    return f"{title}: {sentence}"


def lowercase_output(value: str) -> str:
    """A table cell as it reads inside a sentence: "Transcribed Text" -> "transcribed text" (names in
    parentheses and acronyms kept: "Board Game Strategies (Go)" -> "board game strategies (Go)")."""
    out, depth = [], 0
    for word in value.split(" "):
        lowered = word
        if depth == 0 and word[:1].isupper() and not any(c.isupper() for c in word[1:]) and not word.startswith("("):
            lowered = word.lower()
        depth += word.count("(") - word.count(")")
        out.append(lowered)
    return " ".join(out)


def model_sentence(view: NodeView, kind: Kind) -> str:
    """One sentence from a model row's fields, led by what was asked (creator or output)."""
    name, creator, output = view.title, view.field("creator"), view.field("generates")
    generates = f"generates {lowercase_output(output)}" if output else ""
    if not creator:
        made = f"the article's model table lists no creator for {name}"
    elif _UNNAMED_CREATORS.match(creator):
        made = f"the article's model table lists the creator of {name} as “{creator}”"
    else:
        made = f"{name} was created by {creator}"
    if kind is Kind.OUTPUT and generates:
        tail = f"; {made[0].lower() + made[1:]}" if made.startswith("the ") else f"; it was created by {creator}"
        return f"{name} {generates}{tail}"
    if kind is Kind.DEFINITION:
        if not creator:  # a clause of its own: "no" beside the output would read as negating it
            return f"{name} is an AI model in the article's table that {generates or 'has no output listed'}; " \
                   f"the table lists no creator for it"
        who = f"created by {creator}" if not _UNNAMED_CREATORS.match(creator) else f"with its creator listed as “{creator}”"
        return f"{name} is an AI model in the article's table, {who}, that {generates or 'has no output listed'}"
    first = made[0].upper() + made[1:]
    return f"{first}; it {generates}" if generates else first


def definition(view: NodeView, text: str) -> list[tuple[str, str]]:
    """(shown sentence, verbatim quote) pairs that define an entry: its first two sentences, led by its
    name; a sentence that states something before one that sets up an analogy or an example ("Analogy:
    Think of ..."), and of those one that names the entry first."""
    pairs: list[tuple[str, str]] = []
    found = [x for x in split_sentences(text) if not is_heading(x, view.title) and len(x.split()) >= 4]
    plain = re.sub(r"\s*\(.*?\)", "", view.title).strip()

    def body_of(sentence: str) -> str:
        return sentence[len(view.title) + 1:].strip() if normalize(sentence).startswith(normalize(f"{view.title}:")) else sentence

    def aside(sentence: str) -> bool:
        return is_aside(sentence, view.title)

    opening = found[0] if found and view.kind == "section" and view.chunk == 0 and not aside(found[0]) else None

    def order(sentence: str) -> tuple[bool, bool, bool, bool, bool]:
        # A section's opening statement defines it, even as "These are efficient methods ..." (its title is
        # what "These" means); otherwise "Or it generates ...": only the sentence before says what "it" is.
        continues = bool(_CONTINUES.match(body_of(sentence)))
        unnamed = normalize(plain) not in normalize(sentence)
        # "Analogy: Iterative refinement is like a feedback loop ..." names the entry: better than "The student shows ..."
        return sentence is not opening, continues, aside(sentence) and unnamed, unnamed, aside(sentence)

    if view.kind not in ("glossary", "concept", "model"):
        found = sorted(found, key=order)  # a stable sort: the material's order otherwise
    for sentence in found:
        if pairs and view.kind == "section" and aside(sentence):
            break  # a section's definition is its statements, not the analogy that follows them
        body = sentence
        label = f"{view.title}:"
        if normalize(body).startswith(normalize(label)):  # glossary and concept nodes read "Title: definition"
            body = body[len(label):].strip()
        labelled = re.match(r"^(analogy|example)\s*:\s*", body, re.I)
        if labelled and normalize(plain) in normalize(body):  # "Analogy: Iterative refinement is like ..."
            body = body[labelled.end():]
            body = body[:1].upper() + body[1:]
        shown = lead(view.title, body) if not pairs else lead(view.title, body) if _POINTING_LEAD.match(body) else body
        pairs.append((shown, sentence))
        if len(pairs) == (1 if view.kind == "model" else 2):
            break
    return pairs


def _cite(number: int, passage: Passage, quote: str) -> Citation:
    return Citation(number=number, entry_id=passage.entry_id, title=passage.title, quote=quote,
                    passage_text=passage.text, source=passage.source, section=passage.section)


def _end(sentence: str) -> str:
    return sentence.rstrip(" .;:") if sentence.rstrip().endswith((".", ";", ":")) else sentence.rstrip()


def compose(query: str, intent: Intent, nodes: list[NodeWithScore], passages: list[Passage]) -> Answer | None:
    """An answer made from the named entries' fields and definitions, or None when the question is
    not of a kind composed here (or its entries were not retrieved)."""
    if intent.kind is Kind.LIST:
        return table_answer(query, intent, nodes, passages)
    if intent.kind is Kind.NUMBER:
        return number_answer(query, intent, nodes, passages)
    if intent.kind not in ABOUT_NAMED or not intent.subjects:
        return None
    if intent.kind is Kind.COMPARE and re.search(r"\b(examples?|analog\w*|metaphors?)\b", query, re.I):
        return None  # "How does the new-game example explain X versus Y?": the example, not two definitions
    first_of: dict[str, int] = {}
    for number, node in enumerate(nodes, 1):
        view = NodeView.of(node)
        known = first_of.get(view.entry_id)
        # A long section is defined by its opening chunk, wherever the retrievers ranked it.
        if known is None or view.kind == "section" and view.chunk < NodeView.of(nodes[known - 1]).chunk:
            first_of[view.entry_id] = number
    wanted = [s for s in intent.subjects if s in first_of]
    if intent.kind in (Kind.CREATOR, Kind.OUTPUT):
        wanted = [s for s in wanted if NodeView.of(nodes[first_of[s] - 1]).kind == "model"]
    elif intent.kind is Kind.DEFINITION:
        # A model row named in a prose entry's title ("LoRA" in "LoRA and Prompt Tuning"): that prose says what it is.
        for subject in [s for s in wanted if NodeView.of(nodes[first_of[s] - 1]).kind == "model"]:
            name = NodeView.of(nodes[first_of[subject] - 1]).title
            prose = [e for e, n in first_of.items() if e not in wanted and NodeView.of(nodes[n - 1]).kind != "model"
                     and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", NodeView.of(nodes[n - 1]).title, re.I)]
            wanted[wanted.index(subject):wanted.index(subject)] = prose[:1]
        # A term defined in prose and listed in the table (BERT, YOLO): the definition first.
        wanted.sort(key=lambda s: NodeView.of(nodes[first_of[s] - 1]).kind == "model")
    if not wanted or (intent.kind is Kind.COMPARE and len(wanted) < 2):
        return None
    parts: list[str] = []
    citations: list[Citation] = []
    for entry_id in wanted[:MAX_SUBJECTS]:
        number = first_of[entry_id]
        view, passage = NodeView.of(nodes[number - 1]), passages[number - 1]
        if view.kind == "model":
            kind = intent.kind if intent.kind in (Kind.CREATOR, Kind.OUTPUT) else Kind.DEFINITION
            shown = model_sentence(view, kind)
            if any(v == view.title for v in (c.title for c in citations)):
                shown = model_sentence(view, Kind.CREATOR)
            pairs = [(shown, passage.text)]
        else:
            pairs = definition(view, passage.text)[: 1 if intent.kind is Kind.COMPARE else 2]
        for shown, quote in pairs:
            if not verify_quote(quote, passage.text):
                return None
            parts.append(f"{_end(shown)} [{number}].")
            citations.append(_cite(number, passage, quote))
    if not parts:
        return None
    return Answer(text=" ".join(parts), citations=citations, passages=passages, query=query, mode="structured")


def table_answer(query: str, intent: Intent, nodes: list[NodeWithScore], passages: list[Passage]) -> Answer | None:
    """Every model row that matches the list question, one line and one citation each."""
    match = intent.table
    rows = [(n, node, p) for n, (node, p) in enumerate(zip(nodes, passages, strict=True), 1) if NodeView.of(node).table_field]
    if match is None or not rows:
        return None
    one = len(rows) == 1
    noun = "model" if one else "models"
    what = f"created by {match.creator}" if match.creator else ""
    if match.output:
        made = f" and {'was' if one else 'were'} {what}" if what else ""
        what = f"that generate{'s' if one else ''} {match.output}{made}"
    if match.name:
        what = f"with “{match.name}” in {'its' if one else 'their'} name"
    what = match.what or what
    lines = [prompts.TABLE_INTRO.format(count=len(rows), noun=noun, what=what)]
    citations = []
    for number, _, passage in rows:
        lines.append(f"- {passage.text} [{number}]")
        citations.append(_cite(number, passage, passage.text))
    if match.missing:  # after the rows, a sentence of its own: beside them its "not" would read as denying them
        lines.append(f"{'It is not' if one else 'None of them is'} listed as generating {match.missing}.")
    return Answer(text="\n".join(lines), citations=citations, passages=passages, query=query, mode="structured")


def number_answer(query: str, intent: Intent, nodes: list[NodeWithScore], passages: list[Passage]) -> Answer | None:
    """Which number a named concept has in the article's numbered list (the entry's "number" field)."""
    for number, (node, passage) in enumerate(zip(nodes, passages, strict=True), 1):
        view = NodeView.of(node)
        if view.entry_id in intent.subjects and view.field("number"):
            pairs = definition(view, passage.text)[:1]
            if not pairs:
                return None
            sentence = (f"{view.title} is number {view.field('number')} in the article's list of "
                        f"{view.section or 'concepts'} [{number}].")
            return Answer(text=sentence, citations=[_cite(number, passage, pairs[0][1])], passages=passages, query=query,
                          mode="structured")
    return None
