"""Reading user files: encodings, binary detection, HTML/PDF text, size and type limits (no model needed)."""

from __future__ import annotations

import codecs
import os
import random
import re

import pytest

from assistant.errors import InputError
from assistant.files import decode, find_files, html_to_text, read_file

MB = 1_000_000


def tiny_pdf(*lines: str) -> bytes:
    """A minimal one-page PDF whose page shows `lines` in Helvetica (xref offsets computed)."""
    text_ops = " ".join(f"({line}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {text_ops} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def binary_bytes(size: int = 4096, seed: int = 7) -> bytes:
    """Random bytes with NULs, like an image or executable."""
    data = bytearray(random.Random(seed).randbytes(size))
    data[10] = 0
    return bytes(data)


# --- B4: encodings and binary files ----------------------------------------------------
@pytest.mark.parametrize(("data", "expected", "encoding"), [
    ("Generative café — “quotes”".encode(), "Generative café — “quotes”", "utf-8"),
    (codecs.BOM_UTF8 + "naïve".encode(), "naïve", "utf-8"),
    ("café crème".encode("latin-1"), "café crème", "cp1252"),
    ("“smart” quotes – dash".encode("cp1252"), "“smart” quotes – dash", "cp1252"),
    ("UTF-16 text: ĉ€".encode("utf-16"), "UTF-16 text: ĉ€", "utf-16"),
    (codecs.BOM_UTF16_BE + "big endian".encode("utf-16-be"), "big endian", "utf-16"),
    ("utf-32 ☃".encode("utf-32"), "utf-32 ☃", "utf-32"),
])
def test_B4_decode_text_encodings(data, expected, encoding):
    text, used = decode(data, "f.txt")
    assert text == expected and used == encoding


def test_B4_decode_refuses_binary_with_and_without_nuls():
    with pytest.raises(InputError, match=r"blob\.txt looks like a binary file"):
        decode(binary_bytes(), "blob.txt")
    no_nuls = bytes(b for b in binary_bytes(8192) if b)  # high share of control bytes even without NULs
    with pytest.raises(InputError, match="binary"):
        decode(no_nuls, "blob.txt")


def test_B4_read_file_handles_each_encoding_and_bad_bytes(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Crème brûlée and café".encode("latin-1"))
    (tmp_path / "utf16.md").write_bytes("# Titre\n\nÉté en UTF-16".encode("utf-16"))
    (tmp_path / "surrogate.txt").write_bytes(b"before \xed\xa0\x80 after")  # a UTF-8-encoded lone surrogate
    (tmp_path / "crlf.txt").write_bytes(b"line one\r\nline two\rline three\x1b[31m red\x1b[0m")
    (tmp_path / "blob.txt").write_bytes(binary_bytes())
    assert "Crème brûlée and café" in read_file(tmp_path / "latin1.txt", MB)
    assert read_file(tmp_path / "utf16.md", MB) == "# Titre\n\nÉté en UTF-16"
    assert read_file(tmp_path / "surrogate.txt", MB).startswith("before ")
    assert read_file(tmp_path / "crlf.txt", MB) == "line one\nline two\nline three red"
    with pytest.raises(InputError, match=r"^blob\.txt looks like a binary file"):
        read_file(tmp_path / "blob.txt", MB)


# --- B6: size and type limits ----------------------------------------------------------
def test_B6_oversized_file_rejected_with_the_limit_named(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("word " * 2000)
    with pytest.raises(InputError, match=r"^big\.txt is 0\.0 MB, over the 0\.0 MB limit \(MAX_FILE_MB\)"):
        read_file(big, 1000)
    assert read_file(big, MB).startswith("word")


@pytest.mark.parametrize("name", ["setup.exe", "report.docx", "Makefile", "image.PNG"])
def test_B6_disallowed_types_rejected_naming_the_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"MZ\x90\x00" * 10)
    with pytest.raises(InputError, match=rf"^{re.escape(name)}: files of type .* are not supported; use \.md"):
        read_file(path, MB)


def test_B6_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(InputError, match="not a regular file"):
        read_file(fifo, MB)
    with pytest.raises(InputError, match="cannot be read|not a regular file"):
        read_file(tmp_path / "missing.md", MB)


# --- formats -------------------------------------------------------------------------
def test_html_scripts_and_styles_stripped_headings_kept():
    html = """<html><head><title>T</title><style>p{color:red}</style><script>alert('x')</script></head>
    <body><h1>Main</h1><p>Visible <b>text</b>.</p><script>steal()</script>
    <h2>Sub</h2><ul><li>one</li><li>two</li></ul></body></html>"""
    text = html_to_text(html)
    assert text == "# Main\nVisible text.\n## Sub\none\ntwo"  # no title, style or script text


def test_pdf_text_extracted_per_page(tmp_path):
    path = tmp_path / "paper.pdf"
    path.write_bytes(tiny_pdf("Diffusion models add noise.", "Then they remove it."))
    text = read_file(path, MB)
    assert text.startswith("# Page 1\n\n")
    assert "Diffusion models add noise." in text and "Then they remove it." in text


def test_pdf_damaged_or_empty_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + binary_bytes(2000))
    with pytest.raises(InputError, match=r"^broken\.pdf is not a readable PDF"):
        read_file(broken, MB)
    blank = tmp_path / "blank.pdf"
    blank.write_bytes(tiny_pdf())
    with pytest.raises(InputError, match=r"^blank\.pdf contains no text to index \(a scanned PDF needs OCR first\)"):
        read_file(blank, MB)


def test_find_files_expands_folders_skips_hidden_and_dedupes(tmp_path):
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / ".git").mkdir()
    for name in ("docs/a.md", "docs/sub/b.txt", "docs/.hidden.md", "docs/.git/HEAD"):
        (tmp_path / name).write_text("x")
    found = find_files([tmp_path / "docs", tmp_path / "docs" / "a.md"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["docs/a.md", "docs/sub/b.txt"]
