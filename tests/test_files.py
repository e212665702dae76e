"""Reading user files: encodings, binary detection, HTML/PDF text, size and type limits (no model needed)."""

from __future__ import annotations

import codecs
import os
import random
import re

import pytest

from assistant.errors import InputError
from assistant.files import decode, find_files, html_to_text, read_file, safe_name

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
    found, skipped = find_files([tmp_path / "docs", tmp_path / "docs" / "a.md"])
    assert [f.path.relative_to(tmp_path).as_posix() for f in found] == ["docs/a.md", "docs/sub/b.txt"] and not skipped


# --- S10: symbolic links ------------------------------------------------------------------
def link_farm(tmp_path):
    """docs/ with a real file, links inside and out, and a secret outside the folder."""
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.md").write_text("The launch code is 0000.")
    (secret / "shadow").write_text("root:$6$salt$hash:19000:0:99999:7:::")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "real.md").write_text("# Real\n\nReal notes.")
    (docs / "blob.bin").write_bytes(b"not for indexing")
    (docs / "linked.md").symlink_to(secret / "key.md")  # a file outside
    (docs / "outside").symlink_to(secret, target_is_directory=True)  # a folder outside
    (docs / "again.md").symlink_to(docs / "real.md")  # inside: the same file once
    (docs / "x.md").symlink_to(docs / "blob.bin")  # named .md, really .bin
    (docs / "broken.md").symlink_to(tmp_path / "nowhere.md")
    (docs / "loop.md").symlink_to(docs / "loop.md")
    return docs, secret


def test_S10_folder_walk_never_follows_links_out_of_the_folder(tmp_path):
    docs, _ = link_farm(tmp_path)
    found, skipped = find_files([docs])
    assert sorted(f.path.name for f in found) == ["blob.bin", "real.md"]  # again.md is real.md: indexed once
    reasons = {p.name: r for p, r in skipped}
    assert sorted(reasons) == ["broken.md", "linked.md", "loop.md", "outside"]
    assert reasons["linked.md"].startswith("linked.md is a link to a file outside docs; links in a folder are never followed")
    assert reasons["outside"].startswith("outside is a link to a folder outside docs")
    assert "broken symbolic link" in reasons["broken.md"] and "broken symbolic link" in reasons["loop.md"]
    assert all("secret" not in r for r in reasons.values())  # the target's path is not disclosed


def test_S10_file_type_judged_from_the_real_file_not_the_link_name(tmp_path):
    docs, secret = link_farm(tmp_path)
    with pytest.raises(InputError, match=r"^x\.md is a link to a file of type '\.bin', which is not supported"):
        read_file(docs / "x.md", MB)
    (tmp_path / "notes.md").symlink_to(secret / "shadow")
    found, skipped = find_files([tmp_path / "notes.md"])  # named explicitly: followed to the regular file...
    assert not skipped and found[0].real == (secret / "shadow").resolve()
    with pytest.raises(InputError, match=r"^notes\.md is a link to a file of type 'none', which is not supported"):
        read_file(found[0].path, MB, found[0].real)  # ...whose real type decides


def test_S10_link_named_explicitly_is_followed_only_to_a_file(tmp_path):
    docs, secret = link_farm(tmp_path)
    (tmp_path / "key.md").symlink_to(secret / "key.md")
    (tmp_path / "folder").symlink_to(secret, target_is_directory=True)
    found, skipped = find_files([tmp_path / "key.md", tmp_path / "folder"])
    assert [f.real for f in found] == [(secret / "key.md").resolve()]  # the person asked for this file
    assert read_file(found[0].path, MB, found[0].real) == "The launch code is 0000."
    assert [(p.name, "links are followed only to single files" in r) for p, r in skipped] == [("folder", True)]


# --- B9: text that decodes but is not language --------------------------------------------
def test_B9_garbage_that_decodes_is_refused_with_the_reason(tmp_path):
    rng = random.Random(3)
    cases = {
        "high.md": bytes(rng.randint(0xA0, 0xFF) for _ in range(20_000)),  # indexed as 182 chunks before
        "nospace.md": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(300_000)).encode(),
        "symbols.txt": "".join(rng.choice("☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼") for _ in range(5000)).encode(),
        "replaced.txt": codecs.BOM_UTF16_LE + b"\x00\xd8" * 3000,  # lone surrogates: U+FFFD once decoded
    }
    expected = {"high.md": r"\d+% of its letters are accented Latin-1 letters \(À–ÿ\), as when binary data is read as text",
                "nospace.md": r"100% of it is in runs of over 200 characters without a space",
                "symbols.txt": r"only \d+% of it is letters, digits, spaces or punctuation",
                "replaced.txt": r"100% of its characters could not be decoded"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=rf"^{re.escape(name)} does not look like text in any language: {expected[name]}\. "
                                             r"If it is text, save it as UTF-8"):
            read_file(tmp_path / name, 10 * MB)


REAL_TEXT = {
    "utf8.md": "# Diffusion\n\nA diffusion model learns to remove noise, step by step, from an image. " * 40,
    "german.txt": "Die Größe des Modells beeinflusst die Qualität der Ergebnisse. Überraschend schnell lernt es Fußnoten. " * 40,
    "french.txt": "L'été dernier, nous avons entraîné un modèle génératif très performant à Montréal. " * 40,
    "icelandic.txt": "Þjóðhátíð í Vestmannaeyjum er ein stærsta útihátíð á Íslandi, haldin árlega. " * 40,
    "chinese.md": "# 生成式人工智能\n\n" + ("生成式人工智能是一种能够生成文本、图像或其他媒体的人工智能系统"
                                      "它通过学习训练数据的模式和结构来生成具有相似特征的新数据") * 30,
    "japanese.txt": "生成AIは、テキストや画像などを生成する人工知能です。大規模言語モデルはその代表例であり、" * 30,
    "russian.txt": "Генеративный искусственный интеллект создаёт тексты и изображения по запросу. " * 40,
    "table.md": "| Model | Creator | Output |\n|---|:---:|---:|\n"
                + "| GPT-4 | OpenAI | Text |\n| DALL·E 3 | OpenAI | Image |\n" * 200,
    "code.md": "```python\ndef f(x: dict[str, int]) -> dict:\n    return {k: v ** 2 for k, v in x.items() if v >= 0}\n```\n" * 80,
    "emoji.txt": "Great work on the diffusion demo 🎉 thanks 👍 — see §3.2 (≈ 40% faster, ±2 ms). " * 40,
    "url.md": "See https://example.org/" + "a" * 150 + " for details about latent spaces and their decoders. " * 20,
}


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(("name", "encoding"), [(name, encoding) for name in sorted(REAL_TEXT)
                                                for encoding in ("utf-8", "utf-16", "cp1252")
                                                if _encodable(REAL_TEXT[name], encoding)])
def test_garbage_detector_passes_real_text_in_any_language_and_encoding(tmp_path, name, encoding):
    """B9's guard: the garbage detector leaves real text alone (passes with or without the fix)."""
    text = REAL_TEXT[name]
    (tmp_path / name).write_bytes(text.encode(encoding))
    assert read_file(tmp_path / name, MB).strip() == text.strip()


def test_garbage_detector_passes_html_and_pdf(tmp_path):
    (tmp_path / "page.html").write_text("<h1>Über</h1><table><tr><td>Modell</td><td>Größe</td></tr></table>"
                                        "<p>" + "Ein Satz über generative Modelle und ihre Grenzen. " * 50 + "</p>")
    (tmp_path / "paper.pdf").write_bytes(tiny_pdf(*["Diffusion models add noise, then learn to remove it."] * 30))
    assert "Über" in read_file(tmp_path / "page.html", MB)
    assert "learn to remove it" in read_file(tmp_path / "paper.pdf", MB)


# --- S14: hidden HTML text (an invisible prompt-injection channel) ------------------------
HIDING = [
    '<div style="display:none">PWNED</div>',
    '<div style="DISPLAY: None !important">PWNED</div>',
    '<span style="visibility:hidden">PWNED</span>',
    "<p hidden>PWNED</p>",
    '<div aria-hidden="true">PWNED</div>',
    '<span style="font-size:0">PWNED</span>',
    '<span style="font-size: 0px">PWNED</span>',
    '<span style="font-size:1px">PWNED</span>',
    '<div style="width:0;height:0;overflow:hidden">PWNED</div>',
    '<div style="height:0; overflow:hidden">PWNED</div>',
    '<div style="opacity:0">PWNED</div>',
    '<div style="opacity: 0.0">PWNED</div>',
    '<div style="position:absolute; left:-9999px">PWNED</div>',
    '<div style="clip: rect(0 0 0 0); position:absolute">PWNED</div>',
    '<span style="color:transparent">PWNED</span>',
    '<style>.sneaky { display: none }</style><div class="sneaky">PWNED</div>',
    '<style>#x{visibility:hidden}</style><p id="x">PWNED</p>',
    '<div style="display:none"><p>outer <b>PWNED</b></p></div>',
]


@pytest.mark.parametrize("hidden", HIDING)
def test_S14_html_to_text_drops_hidden_text(hidden):
    html = f"<h1>Guide</h1><p>Prompts steer image models.</p>{hidden}<p>Visible end.</p>"
    text = html_to_text(html)
    assert "PWNED" not in text
    assert text == "# Guide\nPrompts steer image models.\nVisible end."


def test_html_to_text_keeps_visible_styled_text():
    html = ('<div style="display:block; opacity:1; font-size:12px; width:100px; height:0; line-height:0">one</div>'
            '<div><span style="visibility:visible; left:10px; text-indent:2em">two</span></div><p aria-hidden="false">three</p>'
            '<style>@media print { .screen { display:none } } .shown { color: red }</style>'
            '<p class="screen shown">four</p>')
    assert html_to_text(html).split() == ["one", "two", "three", "four"]


# --- B10: escape sequences in file names ---------------------------------------------------
ESCAPED = "evil\x1b]0;owned\x07\x1b[31mred\x1b[0m\x9b2J\x85line.md"


def test_B10_escape_sequences_stripped_from_names_in_messages(tmp_path):
    assert safe_name(ESCAPED) == "evilred line.md"
    path = tmp_path / ESCAPED
    path.write_bytes(binary_bytes())
    with pytest.raises(InputError) as caught:
        read_file(path, MB)
    assert str(caught.value).startswith("evilred line.md looks like a binary file")
    (tmp_path / "link\x1b[2J.md").symlink_to(tmp_path / "nowhere")
    _, skipped = find_files([tmp_path])
    assert all("\x1b" not in reason and "\x9b" not in reason for _, reason in skipped) and skipped
