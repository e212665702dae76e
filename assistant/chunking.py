"""Turn knowledge entries and user files into LlamaIndex nodes with deterministic ids.

A short entry is one node; a long section is split on sentences (LlamaIndex's
``SentenceSplitter``) with its title repeated at the top of every chunk. A node's
text names its entry and fields, e.g. ``"Whisper — creator: OpenAI — generates:
Transcribed Text"``. Node ids are ``<entry id>`` or ``<entry id>#<n>``, and every node
carries a hash of its content, so re-ingest can skip, replace or delete precisely.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter
from llama_index.core.schema import Document, TextNode

from assistant.knowledge import Entry
from assistant.stages import FIELD_PREFIX, Key, join_names


def entry_text(entry: Entry) -> str:
    """The text one short entry is indexed and shown with."""
    if entry.kind == "model":
        return entry.text  # "Whisper — creator: OpenAI — generates: Transcribed Text"
    if entry.kind in ("concept", "glossary"):
        return f"{entry.title}: {entry.text}"
    return f"{entry.title}\n\n{entry.text}"


def _node(node_id: str, text: str, meta: dict[Key, str | int] | dict[str, str | int], position: int = 0) -> TextNode:
    """A node whose content hash covers its text and metadata but not its `position` (the order of
    entries in the material, or of chunks in a file): moving an entry re-orders, it does not re-embed."""
    meta = {str(k): v for k, v in meta.items()}  # plain str keys: the hash below uses their repr
    meta[Key.CONTENT_HASH.value] = hashlib.sha256((text + repr(sorted(meta.items()))).encode()).hexdigest()[:16]
    meta[Key.POSITION.value] = position
    # All metadata stays out of the embedded and LLM text: the node text already says what matters.
    return TextNode(id_=node_id, text=text, metadata=meta,
                    excluded_embed_metadata_keys=list(meta), excluded_llm_metadata_keys=list(meta))


class Chunker:
    """Split entries and files into nodes; sizes are in tokens."""

    def __init__(self, chunk_size: int = 160, chunk_overlap: int = 16):
        self.splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        self.chunk_size = chunk_size

    def _split(self, title: str, body: str) -> list[str]:
        """`body` as one chunk, or split into chunks of at most chunk_size tokens; each is headed by the title."""
        whole = f"{title}\n\n{body}" if title else body
        if len(self.splitter._tokenizer(whole)) <= self.chunk_size:  # noqa: SLF001 - the splitter's own tokenizer
            return [whole]
        return [f"{title}\n\n{chunk}" if title else chunk for chunk in self.splitter.split_text(body)]

    def entry_nodes(self, entry: Entry, position: int = 0) -> list[TextNode]:
        """Nodes for one knowledge entry; `position` is the entry's place in the material."""
        meta: dict[str, str | int] = {
            Key.ENTRY_ID: entry.id, Key.TITLE: entry.title, Key.KIND: entry.kind, Key.SECTION: entry.section,
            Key.SOURCE: entry.source, Key.NAMES: join_names(entry.names), Key.ORIGIN: "knowledge",
        }
        for key, value in entry.fields.items():
            meta[FIELD_PREFIX + key] = str(value)
        if entry.kind != "section":
            return [_node(entry.id, entry_text(entry), meta, position)]
        chunks = self._split(entry.title, entry.text)
        if len(chunks) == 1:
            return [_node(entry.id, chunks[0], meta, position)]
        return [_node(f"{entry.id}#{i}", text, {**meta, Key.CHUNK: i}, position) for i, text in enumerate(chunks)]

    def document_nodes(self, path: Path, text: str, entry_id: str, origin: str) -> list[TextNode]:
        """Nodes for a user file: split by Markdown headings, then by sentences; each keeps path and heading."""
        sections = MarkdownNodeParser().get_nodes_from_documents([Document(text=text)])
        nodes: list[TextNode] = []
        for section in sections:
            header_path = str(section.metadata.get("header_path", "/")).strip("/")
            body = section.get_content().strip()
            first_line = body.splitlines()[0] if body else ""
            if first_line.startswith("#"):
                heading = first_line.lstrip("#").strip()
                body = body[len(first_line):].strip()
            else:
                heading = header_path.split("/")[-1] if header_path else ""
            if not body:
                continue
            title = f"{path.name} — {heading}" if heading else path.name
            for chunk in self._split(title, body):
                meta: dict[str, str | int] = {
                    Key.ENTRY_ID: entry_id, Key.TITLE: title, Key.KIND: "document", Key.SECTION: heading,
                    Key.SOURCE: str(path), Key.NAMES: "", Key.ORIGIN: origin, Key.HEADING: heading, Key.CHUNK: len(nodes),
                }
                nodes.append(_node(f"{entry_id}#{len(nodes)}", chunk, meta, len(nodes)))
        return nodes
