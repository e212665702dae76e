"""The Chroma store: persistence, Chroma server, and the store faults F5-F10 with real Chroma on disk."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.api import Assistant
from assistant.errors import IndexMismatchError, StoreError
from assistant.store import STAMP, Store
from tests.conftest import kill_during_embedding, make_settings, open_assistant
from tests.test_ingest import TINY, cli_env, expected_count, write_knowledge

pytestmark = pytest.mark.slow


def tiny_assistant(tmp_path: Path, embed_model, **overrides) -> Assistant:
    knowledge = write_knowledge(tmp_path / "knowledge", TINY)
    return open_assistant(make_settings(tmp_path / "data", knowledge_dir=knowledge, **overrides), embed_model)


def test_embedded_store_persists_across_reopen(index_copy):
    """Another process (a real reopen: chromadb caches clients per folder in-process) sees the same index."""
    code = "import sys; from pathlib import Path; from assistant.store import Store; print(Store(Path(sys.argv[1])).count())"
    done = subprocess.run([sys.executable, "-c", code, str(index_copy / "chroma")], capture_output=True, text=True, timeout=120,
                          cwd=index_copy, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert done.stdout.strip() == "206", done.stderr[-2000:]


@pytest.mark.server
def test_chroma_server_ingest_and_retrieve(chroma_server, tmp_path, embed_model):
    knowledge = write_knowledge(tmp_path / "knowledge", TINY)
    settings = make_settings(tmp_path / "data", chroma_url=chroma_server, knowledge_dir=knowledge)
    assistant = open_assistant(settings, embed_model)
    assert assistant.store.client.__class__.__name__ != "PersistentClient" and assistant.store.where == chroma_server
    report = assistant.ingest()
    assert report.added == report.total == expected_count(knowledge) == assistant.store.count()
    assert assistant.retrieve("What does a variational autoencoder do?", k=1)[0].entry_id == "vae"
    reopened = open_assistant(settings, embed_model)
    assert reopened.index_size == report.total and reopened.ingest().unchanged == report.total
    assert not (tmp_path / "data" / "chroma").exists()  # nothing was written to the embedded store


def test_chroma_server_unreachable_is_a_clear_error(tmp_path):
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(StoreError, match=rf"Chroma server at {re.escape(url)} is not reachable.*CHROMA_URL"):
        Store(tmp_path, url)
    assert time.monotonic() - start < 30


# --- F10 / F9: index from another embedding model or chromadb version --------------------
def test_F10_embedding_model_changed_detected_and_rebuild_fixes_it(tmp_path, embed_model):
    """Only one real model is available offline, so "built with another model" is simulated the way
    another model would leave it: the collection metadata says embed_model="other-model"."""
    assistant = tiny_assistant(tmp_path, embed_model)
    count = assistant.ingest().total
    assistant.store.set_metadata(embed_model="other-model")
    settings = assistant.settings
    with pytest.raises(IndexMismatchError, match=r"built with the embedding model 'other-model' but 'all-MiniLM-L6-v2' is "
                                                 r"configured; run `python -m assistant ingest --rebuild` to re-index"):
        open_assistant(settings, embed_model)
    with pytest.raises(IndexMismatchError):
        assistant.ingest()  # an ingest without --rebuild must not mix vectors of two models
    assistant.store.set_metadata(embed_model="all-MiniLM-L6-v2", embed_dim=768)  # same name, other vectors
    write_knowledge(settings.knowledge_dir, [*TINY, {**TINY[0], "id": "vae-2", "text": "A second VAE definition."}])
    with pytest.raises(IndexMismatchError, match="holds 768-dimensional vectors but 'all-MiniLM-L6-v2' makes 384-dimensional"):
        assistant.ingest()
    assert assistant.store.count() == count
    # What `ingest --rebuild` does: open without the checks, reset, ingest everything.
    store = Store.for_rebuild(settings.chroma_path, settings.chroma_url, settings.chroma_collection)
    report = Assistant(settings, store, embed_model).ingest(rebuild=True)
    assert report.added == report.total == count + 1
    reopened = open_assistant(settings, embed_model)
    assert reopened.store.metadata["embed_model"] == "all-MiniLM-L6-v2" and reopened.index_size == count + 1


def test_F9_store_written_by_other_chromadb_version(tmp_path, embed_model):
    assistant = tiny_assistant(tmp_path, embed_model)
    count = assistant.ingest().total
    stamp = assistant.settings.chroma_path / STAMP
    assert json.loads(stamp.read_text())["chromadb"].startswith("1.")
    stamp.write_text(json.dumps({"chromadb": "0.4.22"}))
    with pytest.raises(IndexMismatchError, match=r"written by chromadb 0\.4\.22, but chromadb 1\.\d+\.\d+ is installed; "
                                                 r"install chromadb==0\.4\.22, or run `python -m assistant ingest --rebuild`"):
        open_assistant(assistant.settings, embed_model)
    report = Assistant(assistant.settings, Store.for_rebuild(assistant.settings.chroma_path), embed_model).ingest(rebuild=True)
    assert report.added == report.total == count
    assert json.loads(stamp.read_text())["chromadb"].startswith("1.")
    assert open_assistant(assistant.settings, embed_model).index_size == count


def test_rebuild_wipes_an_unopenable_store_but_never_a_foreign_folder(tmp_path):
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="damaged: run `python -m assistant ingest --rebuild`"):
        Store(damaged)
    assert Store.for_rebuild(damaged).count() == 0
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    (foreign / "thesis.tex").write_text("precious")
    with pytest.raises(StoreError, match=r"also holds thesis\.tex, so it was not deleted"):
        Store.for_rebuild(foreign)
    assert (foreign / "thesis.tex").read_text() == "precious"


# --- F5: read-only store folder --------------------------------------------------------------
@contextlib.contextmanager
def read_only(folder: Path):
    """Make `folder` unwritable for this process.

    chmod 0o555 is ignored by root (the tests run as root in CI), so as root the folder is made
    immutable with `chattr +i` instead: a real filesystem refusal that root gets too (EPERM), the
    same check a read-only mount makes. Skips where the filesystem has no immutable flag.
    """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a filesystem without chattr +i: cannot make a folder read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_F5_read_only_data_dir_fails_fast(tmp_path, index_copy):
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    for folder, path in ((fresh, fresh / "chroma"), (index_copy / "chroma", index_copy / "chroma")):
        with read_only(folder):
            start = time.monotonic()
            with pytest.raises(StoreError, match=r"is not writable \(.+\); make it writable or set DATA_DIR to a writable"):
                Store(path)
            assert time.monotonic() - start < 5
    assert Store(index_copy / "chroma").count() == 206  # writable again: opens as before


def test_F5_data_dir_path_is_a_file(tmp_path):
    (tmp_path / "chroma").write_text("not a folder")
    with pytest.raises(StoreError, match="is a file, not a folder; move it away or set DATA_DIR"):
        Store(tmp_path / "chroma")
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(StoreError, match="not writable"):
        Store(tmp_path / "data" / "chroma")


# --- F6: store folder deleted while running --------------------------------------------------
def test_F6_store_deleted_while_running_is_reported(index_copy, embed_model):
    assistant = open_assistant(make_settings(index_copy), embed_model)
    assert assistant.retrieve("What is a GAN?")
    shutil.rmtree(index_copy / "chroma")
    # chromadb keeps serving the deleted files from open handles: the check must not rely on it failing.
    with pytest.raises(StoreError, match="was removed while the assistant was running; restart it"):
        assistant.retrieve("What is a GAN?")
    with pytest.raises(StoreError, match="was removed"):
        assistant.ingest()
    with pytest.raises(StoreError, match="was removed"):
        Store(index_copy / "chroma")  # in-process reopen would get chromadb's cached, stale client


# --- F7: disk full -----------------------------------------------------------------------------
def test_F7_disk_full_during_ingest(tmp_path, embed_model, monkeypatch):
    """ENOSPC is injected at the Chroma boundary (the collection's upsert), not in our code."""
    assistant = tiny_assistant(tmp_path, embed_model)
    before = assistant.ingest().total
    write_knowledge(tmp_path / "knowledge", [*TINY, {"id": "lora", "title": "LoRA", "kind": "glossary", "section": "Glossary",
                                                      "text": "Low-rank adaptation fine-tunes a few weights."}])
    collection = assistant.store.collection

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(collection, "upsert", full_disk)
    with pytest.raises(StoreError, match=r"Writing to the index at .* failed \(OSError: .*No space left on device\); "
                                         r"free disk space or fix permissions, then run ingest again"):
        assistant.ingest()
    assert assistant.store.count() == before
    assert assistant.retrieve("What does a variational autoencoder do?", k=1)[0].entry_id == "vae"
    monkeypatch.undo()
    report = assistant.ingest()
    assert (report.added, report.total) == (1, before + 1)
    assert assistant.retrieve("low-rank adaptation LoRA", k=1)[0].entry_id == "lora"


# --- F8: kill -9 during ingest ------------------------------------------------------------------
def test_F8_kill_during_ingest_recovers(tmp_path, embed_model):
    """`python -m assistant ingest` is killed with SIGKILL once its first batch is stored; the next ingest completes.

    The knowledge folder holds 256 one-line entries (4 batches of 64): quick to embed, yet the
    kill lands with batches still to come.
    """
    entries = [{"id": f"term-{i}", "title": f"Term {i}", "kind": "glossary", "section": "Glossary",
                "text": f"Definition {i} of a generative AI term."} for i in range(256)]
    knowledge = write_knowledge(tmp_path / "knowledge", entries)
    data = tmp_path / "data"
    kill_during_embedding(["ingest"], tmp_path, cli_env(data, KNOWLEDGE_DIR=str(knowledge)), 256)
    settings = make_settings(data, knowledge_dir=knowledge)
    try:
        assistant = open_assistant(settings, embed_model)
    except StoreError as exc:  # damage detected: the message must offer the rebuild
        assert "--rebuild" in str(exc)
        assistant = Assistant(settings, Store.for_rebuild(settings.chroma_path), embed_model)
    assert 0 <= assistant.store.count() < 256
    report = assistant.ingest()
    assert report.total == assistant.store.count() == 256
    assert report.unchanged == 256 - report.added  # what the killed run stored is kept, not re-embedded
    assert assistant.retrieve("Definition 123 of a generative AI term", k=1)[0].entry_id == "term-123"
