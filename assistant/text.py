"""Small pure text helpers: cleaning untrusted input and normalising for comparison."""

from __future__ import annotations

import re
import unicodedata

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
_SPACES = re.compile(r"[ \t\r\f\v]+")

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"',
                         "–": "-", "—": "-", "‐": "-", "‑": "-", "\u00a0": " "})
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its this that
    these those what which who whom whose when where why how does do did done can could should would will shall may
    might must i me my we our you your he she they them their there here about into over under than then so such
    not no nor only own same too very s t just also any all each both few more most other some tell explain describe
    give list name please between vs versus""".split()
)


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


def stem(word: str) -> str:
    """A crude stem for topic matching: plural "s" dropped, then the first five letters ("VAEs" ~ "VAE")."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word[:5]


def one_line(text: str) -> str:
    """Collapse all whitespace runs (for logs and single-line displays)."""
    return _SPACES.sub(" ", " ".join(text.split()))
