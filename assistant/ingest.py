"""Ingest: knowledge entries and user files -> nodes -> embeddings -> Chroma (upsert by id).

The store itself is the record of what was indexed: every node carries its content
hash, so a re-run embeds only new or edited nodes, deletes nodes whose entry or file
is gone, and never depends on a side file that a crash could leave out of step.
Writes go in batches, so an interrupted ingest leaves whole nodes and the next run
completes it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llama_index.core.vector_stores.utils import node_to_metadata_dict
from tqdm import tqdm

from assistant.chunking import Chunker
from assistant.errors import AssistantError, StoreError
from assistant.files import find_files, read_file
from assistant.knowledge import load_entries
from assistant.store import Store

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import TextNode

BATCH = 64


@dataclass
class IngestReport:
    """What an ingest run did."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    total: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def summary(self) -> str:
        text = (f"{self.total} chunks in the index: {self.added} added, {self.updated} updated, "
                f"{self.deleted} deleted, {self.unchanged} unchanged ({self.seconds:.1f} s).")
        if self.skipped:
            text += f" Skipped {len(self.skipped)} file(s): " + "; ".join(f"{p}: {r}" for p, r in self.skipped)
        return text


def fingerprint(meta_by_id: dict[str, dict]) -> str:
    """A digest of the index content (ids and content hashes) that keys caches such as BM25."""
    digest = hashlib.sha256()
    for node_id in sorted(meta_by_id):
        digest.update(f"{node_id}\0{meta_by_id[node_id].get('content_hash', '')}\n".encode())
    return digest.hexdigest()[:20]


def file_origin(path: Path) -> str:
    return f"file:{path.resolve()}"


class Ingestor:
    """Index knowledge entries and files into a Store; the embedding model is loaded only if needed."""

    def __init__(self, store: Store, embed_model: Callable[[], BaseEmbedding], embed_name: str,
                 chunker: Chunker, max_file_bytes: int, progress: bool = True):
        self.store, self._embed_model, self.embed_name = store, embed_model, embed_name
        self.chunker, self.max_file_bytes, self.progress = chunker, max_file_bytes, progress

    def _file_nodes(self, paths: list[Path], report: IngestReport) -> tuple[list[TextNode], set[str]]:
        nodes: list[TextNode] = []
        failed: set[str] = set()
        for path in find_files(paths):
            origin = file_origin(path)
            try:
                text = read_file(path, self.max_file_bytes)
            except AssistantError as exc:
                report.skipped.append((str(path), str(exc)))
                failed.add(origin)
                continue
            entry_id = "doc-" + hashlib.sha1(origin.encode()).hexdigest()[:12]
            nodes += self.chunker.document_nodes(path, text, entry_id, origin)
        return nodes, failed

    def _in_scope(self, meta: dict, knowledge: bool, roots: list[str], failed: set[str]) -> bool:
        """Whether an existing node belongs to what this run re-indexes (so it may be deleted)."""
        origin = str(meta.get("origin", ""))
        if origin == "knowledge":
            return knowledge
        if origin in failed:
            return False  # a file that failed to read keeps its previous chunks
        return any(origin == root or origin.startswith(root + "/") for root in roots)

    def ingest(self, knowledge_dir: Path | None, paths: list[Path] = (), rebuild: bool = False) -> IngestReport:  # type: ignore[assignment]
        """Bring the index in line with `knowledge_dir` (if given) and `paths`."""
        start = time.perf_counter()
        report = IngestReport()
        if rebuild:
            self.store.reset()
        else:
            self.store.check_embedding(self.embed_name)
        nodes: list[TextNode] = []
        if knowledge_dir is not None:
            for entry in load_entries(knowledge_dir):
                nodes += self.chunker.entry_nodes(entry)
        paths = [Path(p) for p in paths]
        for path in paths:
            if not path.exists():
                report.skipped.append((str(path), f"{path} does not exist; check the path."))
        file_nodes, failed = self._file_nodes([p for p in paths if p.exists()], report)
        nodes += file_nodes
        existing = self.store.metadata_by_id()
        roots = [file_origin(p) for p in paths if p.exists()]
        new_ids = {n.node_id for n in nodes}
        to_write = [n for n in nodes if existing.get(n.node_id, {}).get("content_hash") != n.metadata["content_hash"]]
        stale = [i for i, m in existing.items() if i not in new_ids and self._in_scope(m, knowledge_dir is not None, roots, failed)]
        report.added = sum(1 for n in to_write if n.node_id not in existing)
        report.updated = len(to_write) - report.added
        report.unchanged = len(nodes) - len(to_write)
        if to_write or stale:
            self._mark_dirty()
            self._write(to_write)
            self.store.delete(stale)
            report.deleted = len(stale)
        if to_write or stale or not (self.store.collection.metadata or {}).get("fingerprint"):
            self._mark_clean()
        report.total = self.store.count()
        report.seconds = time.perf_counter() - start
        return report

    def _write(self, nodes: list[TextNode]) -> None:
        if not nodes:
            return
        model = self._embed_model()
        bar = tqdm(total=len(nodes), desc="Embedding", unit="chunk", disable=not self.progress)
        dim = 0
        for start in range(0, len(nodes), BATCH):
            batch = nodes[start:start + BATCH]
            vectors = model.get_text_embedding_batch([n.get_content(metadata_mode="embed") for n in batch])
            dim = len(vectors[0])
            try:
                self.store.collection.upsert(
                    ids=[n.node_id for n in batch], embeddings=vectors, documents=[n.get_content() for n in batch],
                    metadatas=[node_to_metadata_dict(n, remove_text=True, flat_metadata=True) for n in batch])
            except Exception as exc:
                raise StoreError(f"Writing to the index at {self.store.where} failed ({type(exc).__name__}: {exc}); "
                                 "free disk space or fix permissions, then run ingest again (nothing already stored was lost).") from None
            bar.update(len(batch))
        bar.close()
        self.store.mark_embedding(self.embed_name, dim)

    def _set_meta(self, **values: object) -> None:
        meta = {k: v for k, v in (self.store.collection.metadata or {}).items() if not k.startswith("hnsw:")}
        self.store.collection.modify(metadata={**meta, **values})

    def _mark_dirty(self) -> None:
        self._set_meta(fingerprint="dirty")

    def _mark_clean(self) -> None:
        self._set_meta(fingerprint=fingerprint(self.store.metadata_by_id()))
