"""Ingest: knowledge entries and user files -> nodes -> embeddings -> Chroma (upsert by id).

The store itself is the record of what was indexed: every node carries its content
hash, so a re-run embeds only new or edited nodes, deletes nodes whose entry or file
is gone, and never depends on a side file that a crash could leave out of step.
Writes go in batches, so an interrupted ingest leaves whole nodes and the next run
completes it.

A rebuild re-reads every source the index holds (the knowledge folder if it was indexed,
and every user file recorded in node metadata ``origin = "file:<resolved path>"``) plus the
paths given now. It refuses, before writing anything, when a recorded source could not be
read again, unless ``drop_missing`` is set. The new index is built beside the old one and
swapped in (see ``assistant.store``), so an interrupted rebuild leaves the old index in place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llama_index.core.schema import MetadataMode
from llama_index.core.vector_stores.utils import node_to_metadata_dict
from tqdm import tqdm

from assistant.chunking import Chunker
from assistant.errors import AssistantError, InputError, StoreError
from assistant.files import find_files, read_file, safe_name
from assistant.knowledge import load_entries
from assistant.stages import Key
from assistant.store import Store

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import TextNode

    from assistant.config import Settings

BATCH = 64  # texts embedded and stored per batch unless EMBED_BATCH_SIZE says otherwise
# Most chunks one file may make, per MB of MAX_FILE_MB: 2,000 at the default 20 MB (about 1.2 MB
# of prose, tens of seconds of embedding on a CPU). The size limit bounds memory; this bounds time.
CHUNKS_PER_MB = 100
_SHOWN = 10  # sources listed by name in a refusal


def chunk_cap(max_file_bytes: int) -> int:
    """The per-file chunk limit for a MAX_FILE_MB of `max_file_bytes` bytes."""
    return max(1, round(max_file_bytes / 1e6 * CHUNKS_PER_MB))


@dataclass
class IngestReport:
    """What an ingest run did. Every path and reason in it is safe to print (no escape sequences)."""

    added: int = 0
    updated: int = 0
    deleted: int = 0  # chunks removed from the index (for a rebuild: chunks of the old index not in the new one)
    unchanged: int = 0
    reordered: int = 0  # unchanged content at a new place in the material (metadata-only update)
    total: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    rebuilt: bool = False
    dropped: list[str] = field(default_factory=list)  # sources a rebuild dropped on request (drop_missing)
    notes: list[str] = field(default_factory=list)

    def skip(self, path: str | Path, reason: str) -> None:
        """Record a skipped file, its name and reason cleaned for terminals and logs."""
        self.skipped.append((safe_name(path), safe_name(reason)))

    def summary(self) -> str:
        """One line of counts, then one line per dropped source, skipped file (each reason names its file) and note."""
        text = ("Rebuilt the index beside the old one and swapped it in. " if self.rebuilt else "")
        text += (f"{self.total} chunks in the index: {self.added} added, {self.updated} updated, "
                 f"{self.deleted} deleted, {self.unchanged} unchanged"
                 + (f" ({self.reordered} of them moved in the material)" if self.reordered else "")
                 + f" ({self.seconds:.1f} s).")
        if self.dropped:
            text += f"\nDropped {len(self.dropped)} source(s) of the old index, as asked (drop_missing):" + "".join(
                f"\n  {source}" for source in self.dropped)
        if self.skipped:
            text += f"\nSkipped {len(self.skipped)} file(s):" + "".join(f"\n  {reason}" for _, reason in self.skipped)
        return text + "".join(f"\n{note}" for note in self.notes)


@dataclass(frozen=True)
class Recorded:
    """The sources an index holds, by origin, with their chunk counts."""

    knowledge: int = 0
    files: dict[Path, int] = field(default_factory=dict)  # resolved path -> chunks
    other: int = 0  # chunks of no known origin (written by another tool)

    @classmethod
    def of(cls, meta_by_id: dict[str, dict]) -> Recorded:
        origins = Counter(str(meta.get(Key.ORIGIN, "")) for meta in meta_by_id.values())
        files = {Path(origin[len("file:"):]): n for origin, n in origins.items() if origin.startswith("file:")}
        other = sum(n for origin, n in origins.items() if origin != "knowledge" and not origin.startswith("file:"))
        return cls(knowledge=origins.get("knowledge", 0), files=dict(sorted(files.items())), other=other)


def fingerprint(meta_by_id: dict[str, dict]) -> str:
    """A digest of the index content (ids and content hashes) that keys caches such as BM25."""
    digest = hashlib.sha256()
    for node_id in sorted(meta_by_id):
        digest.update(f"{node_id}\0{meta_by_id[node_id].get(Key.CONTENT_HASH, '')}\n".encode())
    return digest.hexdigest()[:20]


def _flat(node: TextNode) -> dict:
    """The metadata Chroma stores for a node (LlamaIndex's flat form, without the text)."""
    return node_to_metadata_dict(node, remove_text=True, flat_metadata=True)


def file_origin(path: Path) -> str:
    """The origin recorded on a file's nodes: its resolved path (exact, so a rebuild can read it again;
    shown to people only through ``safe_name``)."""
    return f"file:{path.resolve()}"


def _storable(text: str) -> bool:
    """Whether Chroma can store `text`: a file name that is not valid UTF-8 decodes to lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refusal(lost: list[tuple[str, str]]) -> str:
    listed = "; ".join(f"{source}: {why}" for source, why in lost[:_SHOWN])
    more = f"; and {len(lost) - _SHOWN} more" if len(lost) > _SHOWN else ""
    return (f"The rebuild would drop {len(lost)} source(s) that are in the index: {listed}{more}. Nothing was changed. "
            "Put them back (or fix them), or run `python -m assistant ingest --rebuild --drop-missing` "
            "(drop_missing=True in Python) to rebuild without them.")


class Ingestor:
    """Index knowledge entries and files into a Store; the embedding model is loaded only if needed."""

    def __init__(self, store: Store, embed_model: Callable[[], BaseEmbedding], embed_name: str,
                 chunker: Chunker, max_file_bytes: int, progress: bool = True, *,
                 batch_size: int = BATCH, max_chunks: int | None = None):
        self.store, self._embed_model, self.embed_name = store, embed_model, embed_name
        self.chunker, self.max_file_bytes, self.progress = chunker, max_file_bytes, progress
        self.batch_size = batch_size
        self.max_chunks = chunk_cap(max_file_bytes) if max_chunks is None else max_chunks

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, embed_model: Callable[[], BaseEmbedding],
                      progress: bool = False) -> Ingestor:
        """The Ingestor the settings describe: chunk sizes, MAX_FILE_MB and EMBED_BATCH_SIZE."""
        return cls(store, embed_model, settings.embed_model_name, Chunker(settings.chunk_size, settings.chunk_overlap),
                   int(settings.max_file_mb * 1e6), progress=progress, batch_size=settings.embed_batch_size)

    def _entry_nodes(self, knowledge_dir: Path | None) -> list[TextNode]:
        nodes: list[TextNode] = []
        if knowledge_dir is None:
            return nodes
        for position, entry in enumerate(load_entries(knowledge_dir)):
            if safe_name(entry.source) != entry.source:  # a knowledge file name with escape sequences
                entry = dataclasses.replace(entry, source=safe_name(entry.source))
            nodes += self.chunker.entry_nodes(entry, position)
        return nodes

    def _file_nodes(self, paths: list[Path], report: IngestReport) -> tuple[list[TextNode], set[str]]:
        nodes: list[TextNode] = []
        failed: set[str] = set()
        found, not_followed = find_files(paths)
        for path, reason in not_followed:
            report.skip(path, reason)
        for file in found:
            origin = file_origin(file.real)
            name = safe_name(file.path.name)
            try:
                if not _storable(origin):
                    raise InputError(f"{name}: its name is not valid UTF-8, so it cannot be stored; rename the file.")
                text = read_file(file.path, self.max_file_bytes, file.real)
                entry_id = "doc-" + hashlib.sha1(origin.encode()).hexdigest()[:12]
                # The resolved path, so "docs/a.md" and "/abs/docs/a.md" give the same content hash; cleaned,
                # since it becomes the nodes' title and source.
                chunks = self.chunker.document_nodes(Path(safe_name(file.real)), text, entry_id, origin)
                if len(chunks) > self.max_chunks:
                    raise InputError(f"{name} would make {len(chunks):,} chunks, over the limit of {self.max_chunks:,} per "
                                     f"file ({CHUNKS_PER_MB} per MB of MAX_FILE_MB); split it into smaller files or raise "
                                     "MAX_FILE_MB.")
            except AssistantError as exc:
                report.skip(file.path, str(exc))
                failed.add(origin)
                continue
            nodes += chunks
        return nodes, failed

    def _in_scope(self, meta: dict, knowledge: bool, roots: list[str], failed: set[str]) -> bool:
        """Whether an existing node belongs to what this run re-indexes (so it may be deleted)."""
        origin = str(meta.get(Key.ORIGIN, ""))
        if origin == "knowledge":
            return knowledge
        if origin in failed:
            return False  # a file that failed to read keeps its previous chunks
        return any(origin == root or origin.startswith(root.rstrip("/") + "/") for root in roots)

    @staticmethod
    def _lost(recorded: Recorded, knowledge: bool, nodes: list[TextNode], report: IngestReport) -> list[tuple[str, str]]:
        """Sources of the old index that a rebuild would not carry over: (source, why)."""
        lost: list[tuple[str, str]] = []
        if recorded.knowledge and not knowledge:
            lost.append((f"the knowledge folder ({recorded.knowledge} chunks)", "left out by --no-knowledge"))
        produced = {str(n.metadata.get(Key.ORIGIN)) for n in nodes}
        reasons = {path: reason for path, reason in report.skipped}
        for path, chunks in recorded.files.items():
            if f"file:{path}" not in produced:
                why = reasons.get(safe_name(path)) or ("no longer exists" if not path.exists() else "could not be read")
                lost.append((f"{safe_name(path)} ({chunks} chunks)", why))
        if recorded.other:
            lost.append((f"{recorded.other} chunks of unknown origin", "not from the knowledge folder or a file"))
        return lost

    def _old_index(self, rebuild: bool, drop_missing: bool, report: IngestReport) -> dict[str, dict]:
        """Metadata of every node in the index; a rebuild with drop_missing gets past an unreadable one."""
        try:
            return self.store.metadata_by_id()
        except StoreError:
            if not rebuild:
                raise
            if not drop_missing:
                raise StoreError("The index cannot be read, so a rebuild cannot tell which of your files it holds; "
                                 "run `python -m assistant ingest --rebuild --drop-missing` to rebuild it from the knowledge "
                                 "folder and the paths you give (give files ingested earlier again).") from None
            report.notes.append("The old index could not be read, so files ingested earlier were not carried over; "
                                "ingest them again.")
            return {}

    def ingest(self, knowledge_dir: Path | None, paths: list[Path] = (), rebuild: bool = False,  # type: ignore[assignment]
               *, drop_missing: bool = False) -> IngestReport:
        """Bring the index in line with `knowledge_dir` (if given) and `paths`; with `rebuild`, build it anew
        beside the old one from every source it holds plus these (see the module doc)."""
        start = time.perf_counter()
        report = IngestReport(rebuilt=rebuild)
        self.store.ensure_alive()
        paths = [Path(p) for p in paths]
        with self.store.writer():
            if self.store.drop_leftovers():
                report.notes.append("Removed an unfinished rebuild that an interrupted run had left.")
            old = self._old_index(rebuild, drop_missing, report)
            recorded = Recorded.of(old) if rebuild else Recorded()
            # Everything is read and chunked before the first write, so a bad knowledge file
            # fails the run with the index untouched (even with rebuild).
            nodes = self._entry_nodes(knowledge_dir)
            for path in paths:
                if not path.exists():
                    report.skip(path, f"{safe_name(path)} does not exist; check the path.")
            paths = [p for p in paths if p.exists()]
            for path in recorded.files:  # resolved when recorded: one that is a link now is not followed
                if path.is_symlink():
                    report.skip(path, f"{safe_name(path)} is now a symbolic link; name it on its own to index it.")
            again = [p for p in recorded.files if p.is_file() and not p.is_symlink()]
            file_nodes, failed = self._file_nodes(paths + again, report)
            nodes += file_nodes
            if rebuild:
                self._rebuild(nodes, old, recorded, knowledge_dir is not None, drop_missing, report)
            else:
                self.store.check_embedding(self.embed_name)
                roots = [file_origin(p) for p in paths]
                new_ids = {n.node_id for n in nodes}
                stale = [i for i, m in old.items()
                         if i not in new_ids and self._in_scope(m, knowledge_dir is not None, roots, failed)]
                self._apply(self.store, nodes, old, stale, report)
            report.total = self.store.count()
        report.seconds = time.perf_counter() - start
        return report

    def _rebuild(self, nodes: list[TextNode], old: dict[str, dict], recorded: Recorded, knowledge: bool,
                 drop_missing: bool, report: IngestReport) -> None:
        """Refuse to lose a recorded source (unless drop_missing), else build beside the index and swap it in."""
        lost = self._lost(recorded, knowledge, nodes, report)
        if lost and not drop_missing:
            raise InputError(safe_name(_refusal(lost)))
        report.dropped = [f"{source}: {why}" for source, why in lost]
        staged = self.store.staging()
        try:
            self._apply(staged, nodes, {}, [], report)
            self.store.swap_in(staged)
        except BaseException:
            with contextlib.suppress(Exception):  # the old index is intact (or restored on open); the new one goes
                self.store.drop_leftovers()
            raise
        report.deleted = len(set(old) - {n.node_id for n in nodes})

    def _apply(self, target: Store, nodes: list[TextNode], existing: dict[str, dict], stale: list[str],
               report: IngestReport) -> None:
        """Write new and edited nodes to `target`, move reordered ones, delete `stale`, and count it all."""
        to_write = [n for n in nodes if existing.get(n.node_id, {}).get(Key.CONTENT_HASH) != n.metadata[Key.CONTENT_HASH]]
        # Same content at a new place in the material: only the stored position changes.
        writing = {n.node_id for n in to_write}
        moved = [n for n in nodes if n.node_id in existing and n.node_id not in writing
                 and existing[n.node_id].get(Key.POSITION) != n.metadata[Key.POSITION]]
        report.added = sum(1 for n in to_write if n.node_id not in existing)
        report.updated = len(to_write) - report.added
        report.unchanged = len(nodes) - len(to_write)
        report.reordered = len(moved)
        if moved:
            target.update_metadata([n.node_id for n in moved], [_flat(n) for n in moved])
        if to_write or stale:
            # "dirty" until the run completes, so caches keyed by the fingerprint (BM25) are
            # rebuilt after a crash instead of trusting a half-written index.
            target.set_metadata(fingerprint="dirty")
            self._write(target, to_write)
            target.delete(stale)
            report.deleted = len(stale)
        if to_write or stale or target.metadata.get("fingerprint") in (None, "", "dirty"):
            target.set_metadata(fingerprint=fingerprint(target.metadata_by_id()))

    def _write(self, store: Store, nodes: list[TextNode]) -> None:
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
                for start in range(0, len(ordered), self.batch_size):
                    batch = ordered[start:start + self.batch_size]
                    vectors = self._embed(model, [texts[n.node_id] for n in batch])
                    if start == 0:
                        store.mark_embedding(self.embed_name, len(vectors[0]))
                    settle()
                    in_flight = (writer.submit(self._upsert, store, batch, vectors), len(batch))
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

    @staticmethod
    def _upsert(store: Store, batch: list[TextNode], vectors: list[list[float]]) -> None:
        store.upsert(ids=[n.node_id for n in batch], embeddings=vectors, documents=[n.get_content() for n in batch],
                          metadatas=[_flat(n) for n in batch])
