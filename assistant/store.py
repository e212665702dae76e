"""The Chroma store: embedded (``PersistentClient``) by default, a Chroma server by URL.

The collection's metadata records which embedding model built it (and, for the
embedded store, a stamp file records the chromadb version), so a mismatch is a clear
error at start instead of silently wrong answers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.errors import IndexMismatchError, StoreError

STAMP = "assistant-store.json"


def _chromadb_version() -> str:
    import chromadb

    return str(chromadb.__version__)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


class Store:
    """A Chroma collection plus the checks that keep it trustworthy."""

    def __init__(self, path: Path, url: str = "", collection: str = "knowledge"):
        self.path, self.url, self.name = path, url, collection
        self.client = self._connect()
        try:
            self.collection = self.client.get_or_create_collection(collection, metadata={"hnsw:space": "cosine"})
        except Exception as exc:  # chromadb raises many unrelated types here
            raise StoreError(f"Cannot open Chroma collection '{collection}' at {self.where} ({type(exc).__name__}: {exc}).") from None

    @property
    def where(self) -> str:
        return self.url or str(self.path)

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.url:
            parsed = urlparse(self.url if "://" in self.url else f"http://{self.url}")
            try:
                return chromadb.HttpClient(host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000,
                                           ssl=parsed.scheme == "https", settings=chroma_settings)
            except Exception as exc:
                raise StoreError(f"Chroma server at {self.url} is not reachable ({type(exc).__name__}); start it or fix CHROMA_URL.") from None
        self._check_stamp()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the index folder {self.path} ({exc.strerror}); choose a writable DATA_DIR.") from None
        if not os.access(self.path, os.W_OK):
            raise StoreError(f"The index folder {self.path} is read-only; make it writable or set DATA_DIR to a writable folder.")
        try:
            return chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
        except Exception as exc:
            raise StoreError(f"Cannot open the index at {self.path} ({type(exc).__name__}: {exc}); "
                             "it may be damaged: delete the folder and run `python -m assistant ingest` to rebuild it.") from None

    # --- version and embedding-model bookkeeping -------------------------------------
    def _check_stamp(self) -> None:
        stamp = self.path / STAMP
        if not stamp.exists():
            return
        try:
            written_by = json.loads(stamp.read_text())["chromadb"]
        except (OSError, ValueError, KeyError):
            return
        if _minor(written_by) != _minor(_chromadb_version()):
            raise IndexMismatchError(
                f"The index at {self.path} was written by chromadb {written_by}, but chromadb {_chromadb_version()} is installed; "
                f"install chromadb=={written_by} or delete the folder and run `python -m assistant ingest` to rebuild it.")

    def _write_stamp(self) -> None:
        if not self.url:
            (self.path / STAMP).write_text(json.dumps({"chromadb": _chromadb_version()}))

    def check_embedding(self, model: str) -> None:
        """Raise if the index was built with another embedding model."""
        built_with = (self.collection.metadata or {}).get("embed_model")
        if built_with and built_with != model and self.count() > 0:
            raise IndexMismatchError(
                f"The index was built with the embedding model '{built_with}' but '{model}' is configured; "
                "run `python -m assistant ingest --rebuild` to re-index, or set EMBED_MODEL back.")

    def mark_embedding(self, model: str, dim: int) -> None:
        """Record the embedding model that wrote the vectors."""
        meta = {k: v for k, v in (self.collection.metadata or {}).items() if not k.startswith("hnsw:")}
        if meta.get("embed_model") != model or meta.get("embed_dim") != dim:
            self.collection.modify(metadata={**meta, "embed_model": model, "embed_dim": dim})
        self._write_stamp()

    # --- data access -------------------------------------------------------------------
    def ensure_alive(self) -> None:
        """Detect an embedded store whose folder vanished while running."""
        if not self.url and not (self.path / "chroma.sqlite3").exists():
            raise StoreError(f"The index folder {self.path} was removed while the assistant was running; "
                             "run `python -m assistant ingest` and restart.")

    def count(self) -> int:
        try:
            return int(self.collection.count())
        except Exception as exc:
            raise StoreError(f"Cannot read the index at {self.where} ({type(exc).__name__}); "
                             "run `python -m assistant ingest` to rebuild it.") from None

    def metadata_by_id(self, where: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """All node ids with their metadata (paged, so large stores are fine)."""
        out: dict[str, dict[str, Any]] = {}
        offset, page = 0, 5000
        while True:
            got = self.collection.get(where=where, include=["metadatas"], limit=page, offset=offset)
            for node_id, meta in zip(got["ids"], got["metadatas"] or []):
                out[node_id] = meta or {}
            if len(got["ids"]) < page:
                return out
            offset += page

    def documents(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """(ids, texts, metadatas) of every node, paged."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        offset, page = 0, 5000
        while True:
            got = self.collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            ids += got["ids"]
            texts += [d or "" for d in got["documents"] or []]
            metas += [m or {} for m in got["metadatas"] or []]
            if len(got["ids"]) < page:
                return ids, texts, metas
            offset += page

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), 5000):
            self.collection.delete(ids=ids[start:start + 5000])

    def reset(self) -> None:
        """Drop and recreate the collection (for --rebuild)."""
        self.client.delete_collection(self.name)
        self.collection = self.client.get_or_create_collection(self.name, metadata={"hnsw:space": "cosine"})
