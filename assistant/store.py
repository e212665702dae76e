"""The Chroma store: embedded (``PersistentClient``) by default, a Chroma server by URL.

The collection's metadata records which embedding model built it (and, for the
embedded store, a stamp file records the chromadb version), so a mismatch is a clear
error at start instead of silently wrong answers. Every write goes through this
class, so a full disk or a vanished folder becomes one ``StoreError`` with a fix.

A rebuild fills a second collection, ``<name>__rebuild``, beside the index and then swaps
it in by renaming: ``<name>`` -> ``<name>__old``, ``<name>__rebuild`` -> ``<name>``, then
``<name>__old`` is deleted. A crash (even kill -9) at any point leaves a usable index:
before the swap the old collection is untouched; between the two renames, opening the
store renames ``<name>__old`` back; leftovers are deleted by the next ingest.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.errors import IndexMismatchError, StoreError
from assistant.redact import redact_url

STAMP = "assistant-store.json"
LOCK = "assistant-ingest.lock"
SQLITE = "chroma.sqlite3"
PAGE = 5000
REBUILD = "__rebuild"  # suffix of the collection a rebuild fills beside the index
OLD = "__old"  # suffix the replaced index carries during the swap
SWAP_WAIT = 10.0  # seconds an opener waits for another process's swap to finish
# What an embedded index folder holds: Chroma's database and segment folders, and our own files.
_OWN_NAMES = re.compile(r"^(chroma\.sqlite3(-wal|-shm|-journal)?|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|"
                        rf"{re.escape(STAMP)}|\.{re.escape(STAMP)}\.tmp|{re.escape(LOCK)}|\.write-probe-.*)$")


class _Unopenable(StoreError):
    """chromadb could not open the embedded index (damaged, or another version's files)."""


class _Unreadable(StoreError):
    """chromadb could not tell whether a collection exists."""


def _chromadb_version() -> str:
    import chromadb

    return str(chromadb.__version__)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


class Store:
    """A Chroma collection plus the checks that keep it trustworthy."""

    def __init__(self, path: Path, url: str = "", collection: str = "knowledge", check_version: bool = True):
        self.path, self.url, self.name = Path(path), url, collection
        self.client = self._connect(check_version)
        self._finish_swap()
        try:
            self.collection = self.client.get_or_create_collection(collection, metadata={"hnsw:space": "cosine"})
        except Exception as exc:  # chromadb raises many unrelated types here
            raise (StoreError if url else _Unopenable)(
                f"Cannot open Chroma collection '{collection}' at {self.where} ({type(exc).__name__}: {exc}); "
                "run `python -m assistant ingest --rebuild` to rebuild it.") from None
        # chromadb caches one client per folder per process: if the folder was deleted, that
        # cached client still serves the deleted files, so reopening would look fine but be stale.
        self.ensure_alive()

    @classmethod
    def for_rebuild(cls, path: Path, url: str = "", collection: str = "knowledge") -> Store:
        """Open a store that `ingest --rebuild` will reset: another chromadb version's index or a damaged one is no obstacle."""
        try:
            return cls(path, url, collection, check_version=False)
        except _Unopenable:
            cls._wipe(Path(path))  # chromadb cannot open it, so nothing in it is usable: start from an empty folder
            return cls(path, url, collection, check_version=False)

    @staticmethod
    def _wipe(path: Path) -> None:
        if not path.exists():
            return
        if path.is_dir():
            foreign = sorted(p.name for p in path.iterdir() if not _OWN_NAMES.match(p.name))
            if foreign:  # DATA_DIR may point somewhere unexpected: never delete what Chroma did not write
                raise StoreError(f"The index folder {path} also holds {', '.join(foreign[:3])}, so it was not deleted; "
                                 "delete the folder yourself or set DATA_DIR to another folder.")
        try:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        except OSError as exc:
            raise StoreError(f"Cannot delete the damaged index at {path} ({exc.strerror}); "
                             "delete it yourself and run ingest again.") from None

    @property
    def where(self) -> str:
        return redact_url(self.url) if self.url else str(self.path)

    def _connect(self, check_version: bool) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.url:
            parsed = urlparse(self.url if "://" in self.url else f"http://{self.url}")
            try:
                return chromadb.HttpClient(host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000,
                                           ssl=parsed.scheme == "https", settings=chroma_settings)
            except Exception as exc:
                raise StoreError(f"Chroma server at {redact_url(self.url)} is not reachable ({type(exc).__name__}); "
                                 "start it or fix CHROMA_URL.") from None
        if check_version:
            self._check_stamp()
        self._check_writable()
        try:
            return chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
        except Exception as exc:
            raise _Unopenable(f"Cannot open the index at {self.path} ({type(exc).__name__}: {exc}); it may be damaged: "
                             "run `python -m assistant ingest --rebuild` to rebuild it.") from None

    def _check_writable(self) -> None:
        """Fail fast, before chromadb half-opens a folder it cannot write."""
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"The index folder {self.path} is a file, not a folder; "
                             "move it away or set DATA_DIR to another folder.")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            # A real write, not os.access(): access() ignores chmod for root, and some refusals
            # (immutable folders, quotas) only show when something is written.
            with tempfile.NamedTemporaryFile(dir=self.path, prefix=".write-probe-"):
                pass
            sqlite = self.path / SQLITE
            if sqlite.exists():
                with sqlite.open("r+b"):
                    pass
        except OSError as exc:
            raise StoreError(f"The index folder {self.path} is not writable ({exc.strerror}); "
                             "make it writable or set DATA_DIR to a writable folder.") from None

    # --- version and embedding-model bookkeeping -------------------------------------
    def _check_stamp(self) -> None:
        stamp = self.path / STAMP
        if not stamp.exists():
            return
        try:
            written_by = str(json.loads(stamp.read_text())["chromadb"])
        except (OSError, ValueError, KeyError, TypeError):
            return  # an unreadable stamp proves nothing; chromadb itself reports real damage
        if _minor(written_by) != _minor(_chromadb_version()):
            raise IndexMismatchError(
                f"The index at {self.path} was written by chromadb {written_by}, "
                f"but chromadb {_chromadb_version()} is installed; "
                f"install chromadb=={written_by}, or run `python -m assistant ingest --rebuild` to rebuild the index.")

    def _write_stamp(self) -> None:
        if self.url:
            return
        tmp = self.path / f".{STAMP}.tmp"
        with self._writing():  # write-then-rename: a crash never leaves half a stamp
            tmp.write_text(json.dumps({"chromadb": _chromadb_version()}))
            os.replace(tmp, self.path / STAMP)

    def check_embedding(self, model: str) -> None:
        """Raise if the index was built with another embedding model."""
        built_with = self.metadata.get("embed_model")
        if built_with and built_with != model and self.count() > 0:
            raise IndexMismatchError(
                f"The index was built with the embedding model '{built_with}' but '{model}' is configured; "
                "run `python -m assistant ingest --rebuild` to re-index, or set EMBED_MODEL back.")

    def mark_embedding(self, model: str, dim: int) -> None:
        """Record the embedding model that writes the vectors (before the first write, so a crash cannot hide it)."""
        meta = self.metadata
        if meta.get("embed_dim") not in (None, dim) and self.count() > 0:
            # Same model name, other vectors (e.g. EMBED_MODEL points at a folder whose model changed).
            raise IndexMismatchError(f"The index holds {meta['embed_dim']}-dimensional vectors but '{model}' makes "
                                     f"{dim}-dimensional ones; run `python -m assistant ingest --rebuild` to re-index.")
        if meta.get("embed_model") != model or meta.get("embed_dim") != dim:
            self.set_metadata(embed_model=model, embed_dim=dim)
        self._write_stamp()

    @property
    def metadata(self) -> dict[str, Any]:
        """The collection's own metadata, without chromadb's index settings."""
        return {k: v for k, v in (self.collection.metadata or {}).items() if not k.startswith("hnsw:")}

    def set_metadata(self, **values: Any) -> None:
        """Merge `values` into the collection metadata."""
        with self._writing():
            # chromadb refuses to modify "hnsw:" settings, so they are left out.
            self.collection.modify(metadata={**self.metadata, **values})

    # --- data access -------------------------------------------------------------------
    def ensure_alive(self) -> None:
        """Detect an embedded store whose folder vanished while running."""
        if not self.url and not (self.path / SQLITE).exists():
            raise StoreError(f"The index folder {self.path} was removed while the assistant was running; "
                             "restart it and run `python -m assistant ingest` to rebuild the index.")

    def count(self) -> int:
        try:
            return int(self.collection.count())
        except Exception as exc:
            raise StoreError(f"Cannot read the index at {self.where} ({type(exc).__name__}); "
                             "run `python -m assistant ingest --rebuild` to rebuild it.") from None

    def _pages(self, include: list[str], where: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            try:
                got = self.collection.get(where=where, include=include, limit=PAGE, offset=offset)
            except Exception as exc:
                raise StoreError(f"Cannot read the index at {self.where} ({type(exc).__name__}); "
                                 "run `python -m assistant ingest --rebuild` to rebuild it.") from None
            yield got
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def metadata_by_id(self, where: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """All node ids with their metadata (paged, so large stores are fine)."""
        out: dict[str, dict[str, Any]] = {}
        for got in self._pages(["metadatas"], where):
            for node_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                out[node_id] = meta or {}
        return out

    def documents(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """(ids, texts, metadatas) of every node, paged."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        for got in self._pages(["documents", "metadatas"]):
            ids += got["ids"]
            texts += [d or "" for d in got["documents"] or []]
            metas += [m or {} for m in got["metadatas"] or []]
        return ids, texts, metas

    def vectors(self) -> tuple[list[str], list[list[float]]]:
        """(ids, embeddings) of every node, paged (for copying an index, e.g. the benchmark's corpora)."""
        ids: list[str] = []
        vectors: list[list[float]] = []
        for got in self._pages(["embeddings"]):
            ids += got["ids"]
            vectors += [list(v) for v in got["embeddings"]]
        return ids, vectors

    # --- writes ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn any failed write (full disk, read-only, server gone) into one actionable StoreError."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"Writing to the index at {self.where} failed ({type(exc).__name__}: {exc}); "
                             "free disk space or fix permissions, then run ingest again (what was stored is kept).") from None

    def upsert(self, ids: list[str], embeddings: list[list[float]], documents: list[str],
               metadatas: list[dict[str, Any]]) -> None:
        """Insert or replace nodes by id."""
        with self._writing():
            self.collection.upsert(ids=ids, embeddings=embeddings, documents=documents, metadatas=metadatas)

    def update_metadata(self, ids: list[str], metadatas: list[dict[str, Any]]) -> None:
        """Replace the metadata of existing nodes (their vectors and texts stay)."""
        with self._writing():
            for start in range(0, len(ids), PAGE):
                self.collection.update(ids=ids[start:start + PAGE], metadatas=metadatas[start:start + PAGE])

    def delete(self, ids: list[str]) -> None:
        """Remove nodes by id."""
        with self._writing():
            for start in range(0, len(ids), PAGE):
                self.collection.delete(ids=ids[start:start + PAGE])

    # --- rebuild beside the index, then swap ------------------------------------------------
    def _exists(self, name: str) -> bool:
        from chromadb.errors import NotFoundError

        try:
            self.client.get_collection(name)
        except NotFoundError:
            return False
        except Exception as exc:
            raise _Unreadable(f"Cannot read the index at {self.where} ({type(exc).__name__}); "
                              "check that it is reachable, then try again.") from None
        return True

    def _drop(self, name: str) -> bool:
        """Delete a collection if it exists; whether it did."""
        from chromadb.errors import NotFoundError

        with self._writing():
            try:
                self.client.delete_collection(name)
            except NotFoundError:
                return False
        return True

    def _finish_swap(self) -> None:
        """A swap cut between its two renames left no `<name>` but `<name>__old`: rename it back.
        A store that cannot be read is left to the open that follows, which reports it."""
        if not self.url and not (self.path / SQLITE).exists():
            return  # a new folder (or one deleted under a cached client): nothing to restore
        try:
            self._restore_old()
        except _Unreadable:
            return

    def _restore_old(self) -> None:
        old = self.name + OLD
        deadline = time.monotonic() + SWAP_WAIT
        while not self._exists(self.name) and self._exists(old):
            with self._try_lock() as locked:
                if locked:  # no ingest is running: the swap was interrupted, so the old index is restored
                    if not self._exists(self.name):
                        with self._writing():
                            self.client.get_collection(old).modify(name=self.name)
                    return
            if time.monotonic() > deadline:
                raise StoreError(f"An ingest --rebuild is swapping in a new index at {self.where}; "
                                 "try again in a moment.")
            time.sleep(0.1)  # another process is between its two renames: they take milliseconds

    def drop_leftovers(self) -> bool:
        """Delete what an interrupted rebuild left (a half-built or replaced collection); whether there was any.
        Call while holding :meth:`writer`."""
        dropped = self._drop(self.name + REBUILD)
        if self._exists(self.name):
            dropped = self._drop(self.name + OLD) or dropped
        return dropped

    def staging(self) -> Store:
        """An empty collection beside this one (`<name>__rebuild`) for a rebuild to fill; see :meth:`swap_in`.
        Call while holding :meth:`writer`."""
        name = self.name + REBUILD
        self._drop(name)
        staged = copy.copy(self)
        staged.name = name
        with self._writing():
            staged.collection = self.client.create_collection(name, metadata={"hnsw:space": "cosine"})
        return staged

    def swap_in(self, staged: Store) -> None:
        """Make the filled staging collection this store's index and delete the old one (crash-safe, see the module doc)."""
        old = self.name + OLD
        self._drop(old)
        with self._writing():
            if self._exists(self.name):
                self.client.get_collection(self.name).modify(name=old)
            staged.collection.modify(name=self.name)
        self.collection = staged.collection
        self._drop(old)
        self._write_stamp()  # the folder now holds only what this chromadb version writes

    @contextlib.contextmanager
    def _try_lock(self) -> Iterator[bool]:
        """Hold the embedded store's ingest lock if no other process does; yields whether it is held
        (always True where there is no lock: a Chroma server, or Windows)."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; one ingest at a time is then up to the user
            fcntl = None  # type: ignore[assignment]
        if self.url or fcntl is None:
            yield True
            return
        with self._writing():
            handle = (self.path / LOCK).open("a")
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the embedded store's ingest lock: Chroma is not safe with two writing processes."""
        with self._try_lock() as locked:
            if not locked:
                raise StoreError(f"Another ingest is writing to the index at {self.path}; wait for it to finish, "
                                 "then run ingest again.")
            yield

    def close(self) -> None:
        """Release the chromadb client (its files are closed once no other Store uses the folder)."""
        close = getattr(self.client, "close", None)
        if close:
            close()
