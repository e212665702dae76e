"""Read a user's file (.md, .txt, .html, .pdf) into Markdown-ish text, or explain why not."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from assistant.errors import InputError
from assistant.text import clean_text

ALLOWED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
# C0/C1 controls other than tab, newline, form feed, carriage return and ESC (coloured logs):
# common in binary data, rare in text (cp1252 text has none once decoded as cp1252).
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
_BINARY_SHARE = 0.05


def find_files(paths: list[Path]) -> list[Path]:
    """Expand folders into their files (sorted, hidden files and folders left out), without duplicates."""
    found: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            inside = (p for p in path.rglob("*") if p.is_file()
                      and not any(part.startswith(".") for part in p.relative_to(path).parts))
            for file in sorted(inside):
                found.setdefault(file.resolve(), file)
        else:
            found.setdefault(path.resolve(), path)  # the same file named twice would give duplicate node ids
    return list(found.values())


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
        raise InputError(f"{name} looks like a binary file, not text; convert it to .txt, .md, .html or .pdf.")
    return text, encoding


def html_to_text(html: str) -> str:
    """Visible text of an HTML page with headings kept as Markdown headings."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg", "head"]):
        tag.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            tag.replace_with(f"\n\n{'#' * level} {tag.get_text(' ', strip=True)}\n\n")
    for tag in soup.find_all(["p", "li", "br", "div", "tr"]):
        tag.append("\n")
    lines = (line.strip() for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


def pdf_to_text(path: Path) -> str:
    """Text of every page, each under a '# Page n' heading."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise FileNotDecryptedError("encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except FileNotDecryptedError:
        raise InputError(f"{path.name} is a password-protected PDF; save an unprotected copy and ingest that.") from None
    except Exception as exc:  # pypdf parses untrusted bytes and raises many types on malformed files
        raise InputError(f"{path.name} is not a readable PDF ({type(exc).__name__}); "
                         "re-export it or convert it to text.") from None
    return "\n\n".join(f"# Page {i}\n\n{text}" for i, text in enumerate(pages, 1) if text.strip())


def read_file(path: Path, max_bytes: int) -> str:
    """Text of an allowed file, cleaned of control characters; raises InputError with a fix-it message."""
    suffix = path.suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise InputError(f"{path.name}: files of type '{suffix or 'none'}' are not supported; use {', '.join(ALLOWED_SUFFIXES)}.")
    try:
        if not path.is_file():  # a FIFO or device named *.txt would block or never end
            raise InputError(f"{path.name} is not a regular file; pass a file or a folder.")
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path.name} cannot be read ({exc.strerror}).") from None
    if size > max_bytes:
        raise InputError(f"{path.name} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit (MAX_FILE_MB); "
                         "split it or raise the limit.")
    if suffix == ".pdf":
        text = pdf_to_text(path)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path.name} cannot be read ({exc.strerror}).") from None
        text, _ = decode(data, path.name)
        if suffix in (".html", ".htm"):
            text = html_to_text(text)
    # Windows line ends would leave "\r" in headings and chunk text.
    text = clean_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    if not text.strip():
        hint = " (a scanned PDF needs OCR first)" if suffix == ".pdf" else ""
        raise InputError(f"{path.name} contains no text to index{hint}.")
    return text
