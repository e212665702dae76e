"""Read a user's file (.md, .txt, .html, .pdf) into Markdown-ish text, or explain why not.

Symbolic links (S10): a folder is walked without ever leaving it. A link found inside the
folder is followed only when its target (resolved through every link) is inside that same
folder, and then the target is indexed once, under its real name; links to folders are
never descended (their targets inside the folder are walked anyway). A link named
explicitly (on the command line or in ``paths``) is followed only to a regular file: the
person asked for that file. Either way the file type is judged from the real file — its
suffix and its content — never from the link's name.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import unicodedata
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from assistant.errors import InputError
from assistant.text import clean_text

ALLOWED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
# C0/C1 controls other than tab, newline, form feed, carriage return and ESC (coloured logs):
# common in binary data, rare in text (cp1252 text has none once decoded as cp1252).
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
_BINARY_SHARE = 0.05

# Garbage that decodes (B9). Thresholds are far from real text in any language (see tests/test_files.py).
LONG_WORD = 200  # characters without a space; German compounds and URLs stay well below
LONG_WORD_SHARE = 0.5  # of the non-space text in such "words": no word breaks at all
HIGH_LATIN1_SHARE = 0.4  # of the letters in À..ÿ: French or Icelandic stay under 0.2; bytes 0xA0-0xFF read as cp1252 ~1.0
TEXT_SHARE = 0.8  # letters, digits, marks, spaces, punctuation and ASCII symbols
REPLACEMENT_SHARE = 0.01  # U+FFFD from undecodable bytes
_MIN_LETTERS = 50  # shares of fewer letters mean little
# Scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, kana, CJK, Hangul, full width).
_NO_SPACE_SCRIPT = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3000-\u30ff\u3100-\u312f\u3400-\u4dbf"
                              r"\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_LONG_RUN = re.compile(rf"\S{{{LONG_WORD + 1},}}")
_LINE_BREAKS = str.maketrans({"\t": " ", "\n": " ", "\r": " ", "\v": " ", "\f": " "})


def safe_name(text: str | os.PathLike[str]) -> str:
    """A path or file name fit for a terminal, a log or metadata: escape sequences, control and
    invisible characters removed, line breaks made spaces (a name cannot forge report lines)."""
    return clean_text(os.fspath(text)).translate(_LINE_BREAKS)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _resolve(path: Path) -> Path | None:
    """The real path behind every link, or None for a broken link or a loop."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None


class Found(NamedTuple):
    """A file to read: `path` as named or found (a link keeps its own name, for messages) and
    `real`, the resolved file that was checked and is read."""

    path: Path
    real: Path


def _walk(folder: Path) -> tuple[list[Found], list[tuple[Path, str]]]:
    """Files in `folder` (hidden files and folders left out) and the links that were not followed."""
    root = folder.resolve()
    files: list[Found] = []
    skipped: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in dirnames:
            link = here / name
            if link.is_symlink() and not _inside(_resolve(link) or Path("/"), root):
                skipped.append((link, f"{safe_name(link.name)} is a link to a folder outside {safe_name(folder.name)}; "
                                      "links in a folder are never followed out of it. Ingest that folder by its own path."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            real = _resolve(path)
            if real is None:
                skipped.append((path, f"{safe_name(name)} is a broken symbolic link; fix or remove it."))
            elif path.is_symlink() and not _inside(real, root):
                skipped.append((path, f"{safe_name(name)} is a link to a file outside {safe_name(folder.name)}; links in "
                                      "a folder are never followed out of it. Copy the file in, or name it on its own."))
            else:
                files.append(Found(path, real))  # a link inside the folder is indexed once, as its target
    return sorted(files), skipped


def find_files(paths: list[Path]) -> tuple[list[Found], list[tuple[Path, str]]]:
    """Expand folders into their files (sorted, hidden ones left out), each real file once; links per
    the module rule. Returns (files, skipped), skipped holding (path, reason) for links not followed."""
    found: dict[Path, Found] = {}
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_symlink():
            real = _resolve(path)
            if real is None:
                skipped.append((path, f"{safe_name(path.name)} is a broken symbolic link; fix it or pass the file itself."))
            elif not real.is_file():
                skipped.append((path, f"{safe_name(path.name)} is a symbolic link to a folder or special file; links "
                                      "are followed only to single files named on their own. Pass the folder itself."))
            else:
                found.setdefault(real, Found(path, real))  # named explicitly: the person asked for this file
        elif path.is_dir():
            files, not_followed = _walk(path)
            skipped += not_followed
            for file in files:
                if file.real not in found or (found[file.real].path.is_symlink() and not file.path.is_symlink()):
                    found[file.real] = file  # a file and a link to it: known by its own name
        else:
            real = path.resolve()
            found.setdefault(real, Found(path, real))  # the same file named twice would give duplicate node ids
    return list(found.values()), skipped


def _looks_binary(text: str) -> bool:
    return "\x00" in text or len(_BINARY_CHARS.findall(text[:65536])) > _BINARY_SHARE * min(len(text), 65536)


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode bytes as BOM-marked UTF-32/UTF-16, UTF-8, else cp1252/Latin-1; refuse binary. Returns (text, encoding)."""
    encoding = "utf-8"
    # UTF-32 first: its little-endian BOM begins with the UTF-16 one.
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            text, encoding = data.decode(codec, errors="replace"), codec
            break
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # cp1252 is what "latin-1" files usually are: it maps 0x80-0x9f to quotes and dashes.
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                text, encoding = data.decode("latin-1"), "latin-1"
    if _looks_binary(text):
        raise InputError(f"{safe_name(name)} looks like a binary file, not text; convert it to .txt, .md, .html or .pdf.")
    return text, encoding


def _is_texty(char: str, category: str) -> bool:
    return char.isascii() or category[0] in "LNMZP"


def garbage_reason(text: str) -> str:
    """Why `text` decodes but is not language (empty when it looks like language): no word breaks,
    few letters, undecodable bytes, or the accented-letter soup of binary data read as Latin-1."""
    visible = len(text) - sum(text.count(c) for c in " \t\n\r\f\v\xa0")
    if visible <= 0:
        return ""
    counts = Counter(text)
    categories = {char: unicodedata.category(char) for char in counts}
    total = len(text)
    replaced = counts.get("\ufffd", 0)
    if replaced > REPLACEMENT_SHARE * total:
        return f"{replaced / total:.0%} of its characters could not be decoded"
    texty = sum(n for char, n in counts.items() if _is_texty(char, categories[char]))
    if texty < TEXT_SHARE * total:
        return f"only {texty / total:.0%} of it is letters, digits, spaces or punctuation"
    letters = sum(n for char, n in counts.items() if categories[char][0] == "L")
    high = sum(n for char, n in counts.items() if "\xa0" <= char <= "\xff" and categories[char][0] == "L")
    if letters >= _MIN_LETTERS and high > HIGH_LATIN1_SHARE * letters:
        return (f"{high / letters:.0%} of its letters are accented Latin-1 letters (À–ÿ), as when binary data "
                "is read as text")
    long_runs = sum(len(run) for run in (m.group() for m in _LONG_RUN.finditer(text))
                    if 2 * len(_NO_SPACE_SCRIPT.findall(run)) < len(run))
    if long_runs > LONG_WORD_SHARE * visible:
        return f"{long_runs / visible:.0%} of it is in runs of over {LONG_WORD} characters without a space"
    return ""


# --- HTML: visible text only (S14) ---------------------------------------------------------
_STRUCTURAL = ["script", "style", "noscript", "template", "iframe", "svg", "head", "object", "embed"]
_ZERO = re.compile(r"^[-+]?0*\.?0+(px|pt|em|rem|%|vh|vw|ex|ch|cm|mm|in|pc)?$")
_AT_BLOCK = re.compile(r"@[a-z-]+[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", re.IGNORECASE)
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _declarations(style: str) -> dict[str, str]:
    """CSS declarations as {property: value}, lower-cased, spaces and !important removed."""
    out: dict[str, str] = {}
    for part in _COMMENT.sub("", style).split(";"):
        prop, sep, value = part.partition(":")
        if sep:
            out[prop.strip().lower()] = re.sub(r"\s+|!important", "", value.lower())
    return out


def _number(value: str) -> float | None:
    match = re.match(r"^([-+]?\d*\.?\d+)", value)
    return float(match.group(1)) if match else None


def _zero_box(d: dict[str, str]) -> bool:
    """No width and no height, or one of them zero with the overflow cut off."""
    zero_w = any(_ZERO.match(d.get(k, "x")) for k in ("width", "max-width"))
    zero_h = any(_ZERO.match(d.get(k, "x")) for k in ("height", "max-height"))
    clipped = any(d.get(k) in ("hidden", "clip") for k in ("overflow", "overflow-x", "overflow-y"))
    return (zero_w and zero_h) or ((zero_w or zero_h) and clipped)


def hides(style: str) -> bool:
    """Whether CSS declarations make an element's text invisible: display:none, visibility:hidden,
    opacity 0, zero or 1px font size, zero width or height, clipped away, transparent or far off-screen."""
    d = _declarations(style)
    opacity = _number(d.get("opacity", "1"))
    font = d.get("font-size", "")
    font_px = _number(font) if font.endswith(("px", "pt")) else None
    offscreen = [_number(d.get(k, "0")) for k in ("text-indent", "left", "top", "margin-left", "margin-top")]
    return (d.get("display") == "none" or d.get("visibility") in ("hidden", "collapse")
            or (opacity is not None and opacity < 0.1)
            or bool(_ZERO.match(font)) or (font_px is not None and font_px <= 1)
            or _zero_box(d)
            or d.get("clip", "").startswith("rect(0") or d.get("clip-path", "").startswith(("inset(50%", "inset(100%"))
            or "scale(0)" in d.get("transform", "") or d.get("color") == "transparent"
            or any(v is not None and v <= -999 for v in offscreen))


def _hidden_by_stylesheets(soup) -> list:
    """Elements that <style> rules hide (simple selectors; rules inside @media and friends are left alone)."""
    found = []
    for sheet in soup.find_all("style"):
        css = _AT_BLOCK.sub("", _COMMENT.sub("", sheet.get_text()))
        for selectors, body in _RULE.findall(css):
            if not hides(body):
                continue
            try:
                found += soup.select(selectors.strip())
            except Exception:  # noqa: BLE001, S112 - soupsieve rejects pseudo-classes it cannot match statically
                continue
    return found


def _is_hidden(tag) -> bool:
    return (tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).strip().lower() == "true"
            or (tag.name == "input" and str(tag.get("type", "")).lower() == "hidden")
            or hides(str(tag.get("style", ""))))


def html_to_text(html: str) -> str:
    """Visible text of an HTML page with headings kept as Markdown headings; text a browser would
    not show (hidden attribute, aria-hidden, CSS that hides it) is dropped: an invisible prompt-injection channel."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    hidden = _hidden_by_stylesheets(soup) + [tag for tag in soup.find_all(True) if _is_hidden(tag)]
    for tag in hidden + soup(_STRUCTURAL):
        if not tag.decomposed:
            tag.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            tag.replace_with(f"\n\n{'#' * level} {tag.get_text(' ', strip=True)}\n\n")
    for tag in soup.find_all(["p", "li", "br", "div", "tr"]):
        tag.append("\n")
    lines = (line.strip() for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


def pdf_to_text(data: bytes, name: str) -> str:
    """Text of every page, each under a '# Page n' heading."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise FileNotDecryptedError("encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except FileNotDecryptedError:
        raise InputError(f"{name} is a password-protected PDF; save an unprotected copy and ingest that.") from None
    except Exception as exc:  # pypdf parses untrusted bytes and raises many types on malformed files
        raise InputError(f"{name} is not a readable PDF ({type(exc).__name__}); "
                         "re-export it or convert it to text.") from None
    return "\n\n".join(f"# Page {i}\n\n{text}" for i, text in enumerate(pages, 1) if text.strip())


def _read_regular(real: Path, name: str, max_bytes: int) -> bytes:
    """The bytes of a regular file, opened without following a final link (so a swap after the
    folder walk cannot redirect it) and without blocking on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise InputError(f"{name} cannot be read ({exc.strerror}).") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device named *.txt would block or never end
            raise InputError(f"{name} is not a regular file; pass a file or a folder.")
        if info.st_size > max_bytes:
            raise InputError(f"{name} is {info.st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit (MAX_FILE_MB); "
                             "split it or raise the limit.")
        try:
            return handle.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(f"{name} cannot be read ({exc.strerror}).") from None


def read_file(path: Path, max_bytes: int, real: Path | None = None) -> str:
    """Text of an allowed file, cleaned of control characters; raises InputError with a fix-it message.

    `real` is the resolved file that find_files checked (default: `path` resolved now); the type is
    judged from it (its suffix, then its content), never from a link's name."""
    name = safe_name(path.name)
    real = real or _resolve(path)
    if real is None:
        raise InputError(f"{name} cannot be read: it does not exist or is a broken link; check the path.")
    suffix = real.suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        kind = f"'{suffix}'" if suffix else "'none'"
        if real.name != path.name:
            raise InputError(f"{name} is a link to a file of type {kind}, which is not supported; "
                             f"link only to {', '.join(ALLOWED_SUFFIXES)} files.")
        raise InputError(f"{name}: files of type {kind} are not supported; use {', '.join(ALLOWED_SUFFIXES)}.")
    data = _read_regular(real, name, max_bytes)
    if suffix == ".pdf":
        text = pdf_to_text(data, name)
    else:
        text, _ = decode(data, name)
        if suffix in (".html", ".htm"):
            text = html_to_text(text)
    # Windows line ends would leave "\r" in headings and chunk text.
    text = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        hint = " (a scanned PDF needs OCR first)" if suffix == ".pdf" else ""
        raise InputError(f"{name} contains no text to index{hint}.")
    reason = garbage_reason(text)
    if reason:
        raise InputError(f"{name} does not look like text in any language: {reason}. If it is text, save it as "
                         "UTF-8 with ordinary spacing; otherwise leave it out.")
    return text
