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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llama_index.core.schema import MetadataMode
from llama_index.core.vector_stores.utils import node_to_metadata_dict
from tqdm import tqdm

from assistant.chunking import Chunker
from assistant.errors import AssistantError
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
    reordered: int = 0  # unchanged content at a new place in the material (metadata-only update)
    total: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def summary(self) -> str:
        """One line of counts, then one line per skipped file (each reason names its file)."""
        text = (f"{self.total} chunks in the index: {self.added} added, {self.updated} updated, "
                f"{self.deleted} deleted, {self.unchanged} unchanged"
                + (f" ({self.reordered} of them moved in the material)" if self.reordered else "")
                + f" ({self.seconds:.1f} s).")
        if self.skipped:
            text += f"\nSkipped {len(self.skipped)} file(s):" + "".join(f"\n  {reason}" for _, reason in self.skipped)
        return text


def fingerprint(meta_by_id: dict[str, dict]) -> str:
    """A digest of the index content (ids and content hashes) that keys caches such as BM25."""
    digest = hashlib.sha256()
    for node_id in sorted(meta_by_id):
        digest.update(f"{node_id}\0{meta_by_id[node_id].get('content_hash', '')}\n".encode())
    return digest.hexdigest()[:20]


def _flat(node: TextNode) -> dict:
    """The metadata Chroma stores for a node (LlamaIndex's flat form, without the text)."""
    return node_to_metadata_dict(node, remove_text=True, flat_metadata=True)


def file_origin(path: Path) -> str:
    """The origin recorded on a file's nodes: its resolved path."""
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
            # The resolved path, so "docs/a.md" and "/abs/docs/a.md" give the same content hash.
            nodes += self.chunker.document_nodes(path.resolve(), text, entry_id, origin)
        return nodes, failed

    def _in_scope(self, meta: dict, knowledge: bool, roots: list[str], failed: set[str]) -> bool:
        """Whether an existing node belongs to what this run re-indexes (so it may be deleted)."""
        origin = str(meta.get("origin", ""))
        if origin == "knowledge":
            return knowledge
        if origin in failed:
            return False  # a file that failed to read keeps its previous chunks
        return any(origin == root or origin.startswith(root.rstrip("/") + "/") for root in roots)

    def ingest(self, knowledge_dir: Path | None, paths: list[Path] = (), rebuild: bool = False) -> IngestReport:  # type: ignore[assignment]
        """Bring the index in line with `knowledge_dir` (if given) and `paths`."""
        start = time.perf_counter()
        report = IngestReport()
        self.store.ensure_alive()
        # Everything is read and chunked before the first write, so a bad knowledge file
        # fails the run with the index untouched (even with rebuild).
        nodes: list[TextNode] = []
        if knowledge_dir is not None:
            for position, entry in enumerate(load_entries(knowledge_dir)):
                nodes += self.chunker.entry_nodes(entry, position)
        paths = [Path(p) for p in paths]
        for path in paths:
            if not path.exists():
                report.skipped.append((str(path), f"{path} does not exist; check the path."))
        paths = [p for p in paths if p.exists()]
        file_nodes, failed = self._file_nodes(paths, report)
        nodes += file_nodes
        with self.store.writer():
            if rebuild:
                self.store.reset()
            else:
                self.store.check_embedding(self.embed_name)
            existing = self.store.metadata_by_id()
            roots = [file_origin(p) for p in paths]
            new_ids = {n.node_id for n in nodes}
            to_write = [n for n in nodes if existing.get(n.node_id, {}).get("content_hash") != n.metadata["content_hash"]]
            stale = [i for i, m in existing.items()
                     if i not in new_ids and self._in_scope(m, knowledge_dir is not None, roots, failed)]
            # Same content at a new place in the material: only the stored position changes.
            writing = {n.node_id for n in to_write}
            moved = [n for n in nodes if n.node_id in existing and n.node_id not in writing
                     and existing[n.node_id].get("position") != n.metadata["position"]]
            report.added = sum(1 for n in to_write if n.node_id not in existing)
            report.updated = len(to_write) - report.added
            report.unchanged = len(nodes) - len(to_write)
            report.reordered = len(moved)
            if moved:
                self.store.update_metadata([n.node_id for n in moved], [_flat(n) for n in moved])
            if to_write or stale:
                # "dirty" until the run completes, so caches keyed by the fingerprint (BM25) are
                # rebuilt after a crash instead of trusting a half-written index.
                self.store.set_metadata(fingerprint="dirty")
                self._write(to_write)
                self.store.delete(stale)
                report.deleted = len(stale)
            if to_write or stale or self.store.metadata.get("fingerprint") in (None, "", "dirty"):
                self.store.set_metadata(fingerprint=fingerprint(self.store.metadata_by_id()))
            report.total = self.store.count()
        report.seconds = time.perf_counter() - start
        return report

    def _write(self, nodes: list[TextNode]) -> None:
        """Embed in batches of similar length (little padding) and store each batch while the
        next one is embedded: Chroma's write overlaps the model's work instead of adding to it."""
        if not nodes:
            return
        model = self._embed_model()
        texts = {n.node_id: n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes}
        ordered = sorted(nodes, key=lambda n: len(texts[n.node_id]), reverse=True)
        bar = tqdm(total=len(nodes), desc="Embedding", unit="chunk", disable=not self.progress)
        in_flight: tuple[Future[None], int] | None = None  # one write at a time: errors surface in order

        def settle() -> None:
            if in_flight is not None:
                in_flight[0].result()
                bar.update(in_flight[1])

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="chroma-write") as writer:
            try:
                for start in range(0, len(ordered), BATCH):
                    batch = ordered[start:start + BATCH]
                    vectors = self._embed(model, [texts[n.node_id] for n in batch])
                    if start == 0:
                        self.store.mark_embedding(self.embed_name, len(vectors[0]))
                    settle()
                    in_flight = (writer.submit(self._upsert, batch, vectors), len(batch))
                settle()
            finally:
                bar.close()  # leaving the executor waits for a write in flight, so none is cut short

    def _embed(self, model: BaseEmbedding, texts: list[str]) -> list[list[float]]:
        try:
            return model.get_text_embedding_batch(texts)
        except Exception as exc:  # local model or remote API: either way the person needs one message
            raise AssistantError(f"Embedding with '{self.embed_name}' failed ({type(exc).__name__}: {exc}); check "
                                 "EMBED_PROVIDER, EMBED_MODEL and the API key, then run ingest again "
                                 "(what was stored is kept).") from None

    def _upsert(self, batch: list[TextNode], vectors: list[list[float]]) -> None:
        self.store.upsert(ids=[n.node_id for n in batch], embeddings=vectors, documents=[n.get_content() for n in batch],
                          metadatas=[_flat(n) for n in batch])
