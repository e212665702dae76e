"""Read a user's file (.md, .txt, .html, .pdf) into Markdown-ish text, or explain why not."""

from __future__ import annotations

import codecs
from pathlib import Path

from assistant.errors import InputError
from assistant.text import clean_text

ALLOWED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")


def find_files(paths: list[Path]) -> list[Path]:
    """Expand folders into their files (sorted); files are returned as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            found.append(path)
    return found


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode bytes as UTF-8 or BOM-marked UTF-16, else Latin-1; refuse binary. Returns (text, encoding)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:8192]:
        raise InputError(f"{name} looks like a binary file, not text; convert it to .txt, .md, .html or .pdf.")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def html_to_text(html: str) -> str:
    """Visible text of an HTML page with headings kept as Markdown headings."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg"]):
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
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise InputError(f"{path.name} is not a readable PDF ({type(exc).__name__}); re-export it or convert it to text.") from None
    return "\n\n".join(f"# Page {i}\n\n{text}" for i, text in enumerate(pages, 1) if text.strip())


def read_file(path: Path, max_bytes: int) -> str:
    """Text of an allowed file, cleaned of control characters; raises InputError with a fix-it message."""
    suffix = path.suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise InputError(f"{path.name}: files of type '{suffix or 'none'}' are not supported; use {', '.join(ALLOWED_SUFFIXES)}.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path.name} cannot be read ({exc.strerror}).") from None
    if size > max_bytes:
        raise InputError(f"{path.name} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit (MAX_FILE_MB); split it or raise the limit.")
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
    text = clean_text(text)
    if not text.strip():
        raise InputError(f"{path.name} contains no text to index.")
    return text
