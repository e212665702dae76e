"""Ingest with real Chroma on disk and the real embedding model: counts, re-ingest, edits, files, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from assistant.chunking import Chunker
from assistant.config import PROJECT_DIR
from assistant.errors import AssistantError
from assistant.knowledge import load_entries
from tests.conftest import KNOWLEDGE, make_settings, open_assistant
from tests.test_files import binary_bytes, tiny_pdf

pytestmark = pytest.mark.slow

LONG = " ".join(f"Sentence number {i} explains one more detail of diffusion sampling." for i in range(12))
GLOSSARY = {"kind": "glossary", "section": "Glossary"}
TINY = [
    {"id": "vae", "title": "VAE", **GLOSSARY, "text": "A variational autoencoder encodes data."},
    {"id": "gan", "title": "GAN", **GLOSSARY, "text": "Two networks compete: a generator and a discriminator."},
    {"id": "rag", "title": "RAG", "kind": "concept", "section": "Generative AI Concepts", "text": "Retrieval-augmented answers."},
    {"id": "diffusion", "title": "Diffusion", "kind": "section", "section": "Diffusion", "text": LONG},
] + [  # filler: hybrid retrieval asks BM25 for 20 candidates, so tiny indexes keep more than 20 nodes
    {"id": f"term-{i}", "title": f"Term {i}", **GLOSSARY, "text": f"Filler definition number {i}."}
    for i in range(20)
]


def write_knowledge(folder: Path, entries: list[dict]) -> Path:
    """A knowledge folder (format of knowledge/README.md) holding `entries` in one YAML file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "entries.yaml").write_text(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return folder


def expected_count(knowledge_dir: Path, chunk_size: int = 160, chunk_overlap: int = 16) -> int:
    return sum(len(Chunker(chunk_size, chunk_overlap).entry_nodes(e)) for e in load_entries(knowledge_dir))


def stored(assistant, where: dict | None = None) -> dict[str, str]:
    """Node id -> stored text, straight from the Chroma collection."""
    got = assistant.store.collection.get(where=where, include=["documents"])
    return dict(zip(got["ids"], got["documents"], strict=True))


@pytest.fixture
def tiny(tmp_path, embed_model):
    """An Assistant over a fresh store and the TINY knowledge folder (chunk_size 40: the section has 3+ chunks)."""
    knowledge = write_knowledge(tmp_path / "knowledge", TINY)
    settings = make_settings(tmp_path / "data", knowledge_dir=knowledge, chunk_size=40, chunk_overlap=0)
    assistant = open_assistant(settings, embed_model)
    yield assistant
    assistant.store.close()


# --- F11: same corpus twice, edits, deletes -----------------------------------------------
def test_F11_first_ingest_counts_all_nodes_and_unchanged_reingest_is_fast(tmp_path, embed_model, monkeypatch):
    """Re-ingesting unchanged material embeds nothing. That is what makes it fast; the time bound is loose because
    the first ingest takes only ~2 s with the ONNX encoder, and a fixed share of it is scheduler noise."""
    assistant = open_assistant(make_settings(tmp_path / "data"), embed_model)
    start = time.perf_counter()
    first = assistant.ingest()
    first_seconds = time.perf_counter() - start
    assert first.added == first.total == assistant.store.count() == expected_count(KNOWLEDGE) == 206
    monkeypatch.setattr(type(embed_model), "get_text_embedding_batch", lambda *a, **k: pytest.fail("re-embedded"))
    start = time.perf_counter()
    again = assistant.ingest()
    again_seconds = time.perf_counter() - start
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 206)
    assert assistant.store.count() == 206
    assert again_seconds <= 0.5 * first_seconds, f"re-ingest {again_seconds:.2f} s vs first {first_seconds:.2f} s"


def test_F11_edited_entry_replaced_deleted_entry_removed(tiny, tmp_path):
    first = tiny.ingest()
    assert first.total == expected_count(tmp_path / "knowledge", 40, 0)
    edited = [dict(e) for e in TINY if e["id"] != "gan"]
    edited[0]["text"] = "A variational autoencoder learns a latent space."
    write_knowledge(tmp_path / "knowledge", edited)
    report = tiny.ingest()
    assert (report.added, report.updated, report.deleted) == (0, 1, 1)
    texts = stored(tiny)
    assert texts["vae"] == "VAE: A variational autoencoder learns a latent space."
    assert "gan" not in texts and report.total == first.total - 1 == tiny.store.count()
    assert [p.entry_id for p in tiny.retrieve("latent space of a variational autoencoder", k=1)] == ["vae"]


def test_reordered_material_reorders_the_index_without_reembedding(tiny, tmp_path, monkeypatch):
    """Node order follows the material (table listings and tie-breaks), never the store's insertion order."""
    from assistant.retrieval import IndexSnapshot

    tiny.ingest()
    entries = lambda: list(dict.fromkeys(str(n.metadata["entry_id"]) for n in IndexSnapshot.load(tiny.store).nodes))  # noqa: E731
    assert entries() == [e["id"] for e in TINY]
    write_knowledge(tmp_path / "knowledge", list(reversed(TINY)))
    monkeypatch.setattr(type(tiny.embed_model), "get_text_embedding_batch", lambda *a, **k: pytest.fail("re-embedded"))
    report = tiny.ingest()
    assert (report.added, report.updated, report.deleted) == (0, 0, 0) and report.reordered == report.total
    assert "moved in the material" in report.summary()
    assert entries() == [e["id"] for e in reversed(TINY)]
    chunks = [n.node_id for n in IndexSnapshot.load(tiny.store).nodes if n.node_id.startswith("diffusion#")]
    assert chunks == [f"diffusion#{i}" for i in range(len(chunks))] and len(chunks) >= 3


def test_F11_long_section_shrinking_to_one_chunk_leaves_no_orphans(tiny, tmp_path):
    tiny.ingest()
    chunks = stored(tiny, {"entry_id": "diffusion"})
    assert sorted(chunks) == [f"diffusion#{i}" for i in range(len(chunks))] and len(chunks) >= 3
    write_knowledge(tmp_path / "knowledge", [*TINY[:3], {**TINY[3], "text": "Diffusion removes noise step by step."}, *TINY[4:]])
    report = tiny.ingest()
    assert stored(tiny, {"entry_id": "diffusion"}) == {"diffusion": "Diffusion\n\nDiffusion removes noise step by step."}
    assert report.deleted == len(chunks) and report.added == 1 and tiny.store.count() == len(TINY)


# --- user files -----------------------------------------------------------------------
def test_user_files_of_each_type_indexed_with_path_and_heading(tiny, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text("# Latent diffusion\n\nWorks in a compressed space.\n\n## Decoder\n\nA VAE decodes latents.\n")
    (docs / "page.html").write_text("<h1>Guide</h1><p>Prompts steer image models.</p><script>document.cookie='x'</script>")
    (docs / "paper.pdf").write_bytes(tiny_pdf("Classifier-free guidance mixes two predictions."))
    (docs / "plain.txt").write_text("Tokenizers split text into tokens.")
    tiny.ingest()
    report = tiny.ingest([docs], knowledge=False)
    assert not report.skipped and report.added == 5
    by_source: dict[str, list[dict]] = {}
    for meta in tiny.store.metadata_by_id({"kind": "document"}).values():
        by_source.setdefault(Path(meta["source"]).name, []).append(meta)
    assert sorted(by_source) == ["notes.md", "page.html", "paper.pdf", "plain.txt"]
    assert all(m["source"] == str((docs / name).resolve()) for name, metas in by_source.items() for m in metas)
    assert sorted(m["heading"] for m in by_source["notes.md"]) == ["Decoder", "Latent diffusion"]
    texts = stored(tiny, {"kind": "document"})
    assert "notes.md — Decoder\n\nA VAE decodes latents." in texts.values()
    html_text = next(t for t in texts.values() if t.startswith("page.html"))
    assert "Prompts steer image models." in html_text and "cookie" not in html_text
    assert any("Classifier-free guidance mixes two predictions." in t for t in texts.values())
    assert tiny.retrieve("How do tokenizers split text?", k=1)[0].text.endswith("Tokenizers split text into tokens.")


def test_F11_removed_file_drops_its_chunks_unreadable_file_keeps_them(tiny, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a.md", "b.md", "c.txt"):
        (docs / name).write_text(f"# {name}\n\nText of {name}.")
    tiny.ingest([docs], knowledge=False)
    before = tiny.store.metadata_by_id({"kind": "document"})
    assert len(before) == 3
    (docs / "a.md").unlink()  # removed from the folder
    (docs / "c.txt").write_bytes(binary_bytes())  # now unreadable
    report = tiny.ingest([docs], knowledge=False)
    assert report.deleted == 1 and [Path(p).name for p, _ in report.skipped] == ["c.txt"]
    after = tiny.store.metadata_by_id({"kind": "document"})
    assert sorted(Path(m["source"]).name for m in after.values()) == ["b.md", "c.txt"]
    assert tiny.store.count() == 2  # knowledge was not part of these runs
    again = tiny.ingest([docs / "b.md"], knowledge=False)  # one file of the folder: the others are not in scope
    assert again.deleted == 0 and again.unchanged == 1


# --- B4 / B6: bad files in a batch -----------------------------------------------------
def test_B4_bad_encodings_and_binary_in_a_batch(tiny, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "latin1.txt").write_bytes("Les modèles génératifs créent du contenu.".encode("latin-1"))
    (docs / "utf16.txt").write_bytes("UTF-16 text about autoencoders.".encode("utf-16"))
    (docs / "surrogate.md").write_bytes(b"# Odd\n\nA lone surrogate \xed\xa0\x80 in UTF-8 bytes.")
    (docs / "blob.txt").write_bytes(binary_bytes())
    (docs / "good.md").write_text("# Good\n\nPlain UTF-8 text.")
    report = tiny.ingest([docs], knowledge=False)
    assert [(Path(p).name, "binary" in r) for p, r in report.skipped] == [("blob.txt", True)]
    texts = "\n".join(stored(tiny, {"kind": "document"}).values())
    for expected in ("Les modèles génératifs créent du contenu.", "UTF-16 text about autoencoders.",
                     "Plain UTF-8 text.", "in UTF-8 bytes."):
        assert expected in texts
    assert "\x00" not in texts and "\ud800" not in texts


def test_B4_lone_surrogates_through_the_api(indexed_dir, embed_model):
    assistant = open_assistant(make_settings(indexed_dir), embed_model)
    passages = assistant.retrieve("\ud800abc variational \udfffautoencoder")
    assert passages and passages[0].text.encode("utf-8")
    assert assistant.retrieve("\ud800abc") is not None


def test_B6_oversized_and_disallowed_files_rejected_others_indexed(tmp_path, embed_model):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "big.txt").write_text("large " * 1000)
    (docs / "tool.exe").write_bytes(b"MZ" + bytes(100))
    (docs / "letter.docx").write_bytes(b"PK\x03\x04" + bytes(100))
    (docs / "ok.txt").write_text("Small and fine.")
    assistant = open_assistant(make_settings(tmp_path / "data", max_file_mb=0.002), embed_model)
    report = assistant.ingest([docs], knowledge=False)
    reasons = dict((Path(p).name, r) for p, r in report.skipped)
    assert sorted(reasons) == ["big.txt", "letter.docx", "tool.exe"]
    assert reasons["big.txt"].startswith("big.txt is 0.0 MB, over the 0.0 MB limit (MAX_FILE_MB)")
    assert reasons["tool.exe"].startswith("tool.exe: files of type '.exe' are not supported")
    assert reasons["letter.docx"].startswith("letter.docx: files of type '.docx' are not supported")
    assert report.added == 1 and assistant.store.count() == 1
    assert "Skipped 3 file(s):\n  big.txt is" in report.summary()


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHROMA_URL", "KNOWLEDGE_DIR", "EMBED_MODEL")}
    env.update(DATA_DIR=str(data_dir), LLM_PROVIDER="openai_compatible", LLM_BASE_URL="http://127.0.0.1:9/v1",
               HF_HUB_OFFLINE="1", PYTHONPATH=str(PROJECT_DIR), **extra)
    return env


def test_B6_cli_rejects_bad_files_with_exit_code_and_message(tmp_path):
    """The CLI run never embeds anything, so it is configured with the OpenAI embedding provider (never
    called, no network) to spare the subprocess loading the local model."""
    (tmp_path / "tool.exe").write_bytes(b"MZ" + bytes(100))
    (tmp_path / "big.md").write_text("large " * 1000)
    env = cli_env(tmp_path / "data", MAX_FILE_MB="0.002", EMBED_PROVIDER="openai", LLM_API_KEY="sk-test-unused")
    # cwd is tmp_path so that no developer .env is read.
    done = subprocess.run([sys.executable, "-m", "assistant", "ingest", "tool.exe", "big.md", "--no-knowledge"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=240)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "tool.exe: files of type '.exe' are not supported" in output
    assert "big.md is 0.0 MB, over the 0.0 MB limit (MAX_FILE_MB)" in output
    assert "Traceback" not in output


# --- F12: reads while an ingest writes ------------------------------------------------------
def test_F12_retrieve_while_ingest_runs(index_copy, tmp_path, embed_model):
    """One Assistant (as the UI holds) ingests 120 new chunks in a thread while another thread retrieves in a loop."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(12):
        parts = (f"# Part {j}\n\nDocument {i} part {j} is about topic {i * 10 + j}." for j in range(10))
        (docs / f"doc{i}.md").write_text("\n\n".join(parts))
    assistant = open_assistant(make_settings(index_copy), embed_model)
    errors: list[BaseException] = []
    latencies: list[float] = []
    finished = threading.Event()

    def reader() -> None:
        while not finished.is_set():
            start = time.perf_counter()
            try:
                assert assistant.retrieve("What is a variational autoencoder?", k=3)
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
                return
            latencies.append(time.perf_counter() - start)

    with ThreadPoolExecutor(2) as pool:
        reading = pool.submit(reader)
        time.sleep(0.5)
        ingesting = pool.submit(assistant.ingest, [docs])
        report = ingesting.result(timeout=180)
        finished.set()
        reading.result(timeout=60)
    assert not errors, errors
    assert report.added == 120 and assistant.store.count() == 206 + 120
    assert latencies and max(latencies) < 60
    assert assistant.retrieve("Document 7 part 3 topic 73", k=1)[0].text.endswith("Document 7 part 3 is about topic 73.")


def test_embedding_failure_is_a_clear_error_and_keeps_the_index(tiny, tmp_path):
    """The embedding model is the boundary here: one that raises as a remote API would when unreachable."""
    from assistant.ingest import Ingestor

    class Unreachable:
        def get_text_embedding_batch(self, texts):
            raise ConnectionError("Connection refused")

    count = tiny.ingest().total
    write_knowledge(tmp_path / "knowledge", [*TINY, {**TINY[0], "id": "vae-2", "text": "A second VAE definition."}])
    ingestor = Ingestor(tiny.store, lambda: Unreachable(), "all-MiniLM-L6-v2", Chunker(40, 0), 10**6, progress=False)
    with pytest.raises(AssistantError, match=r"Embedding with 'all-MiniLM-L6-v2' failed \(ConnectionError: Connection refused\)"):
        ingestor.ingest(tmp_path / "knowledge")
    assert tiny.store.count() == count and tiny.ingest().added == 1


def test_concurrent_ingest_is_refused_not_corrupting(tiny):
    """Chroma is not safe with two writers: a second ingest on the same folder is refused with a clear message."""
    tiny.ingest()
    with tiny.store.writer():
        with pytest.raises(AssistantError, match="Another ingest is writing to the index"):
            tiny.ingest()
    assert tiny.ingest().unchanged == tiny.store.count()
