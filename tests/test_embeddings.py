"""The bundled embedding model on ONNX Runtime: same vectors as PyTorch, exported once, checked, with a fallback."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from assistant import embeddings
from assistant.embeddings import OnnxEmbedding, build_embed_model, export_onnx, local_model_path
from assistant.errors import ConfigError
from tests.conftest import make_settings

TEXTS = ["What is a GAN?", "x", "Latent space: " + "a compressed representation of data " * 80,  # truncated at 256 tokens
         "Diffusion models add noise step by step and learn to remove it."]


@pytest.fixture(scope="module")
def torch_model(tmp_path_factory):
    return build_embed_model(make_settings(tmp_path_factory.mktemp("d"), embed_backend="torch"))


def test_onnx_vectors_match_pytorch_in_batches_and_alone(embed_model, torch_model):
    assert isinstance(embed_model, OnnxEmbedding)  # the default backend
    onnx_batch = np.array(embed_model.get_text_embedding_batch(TEXTS))
    torch_batch = np.array(torch_model.get_text_embedding_batch(TEXTS))
    assert np.abs(onnx_batch - torch_batch).max() < 1e-4
    alone = np.array([embed_model.get_query_embedding(t) for t in TEXTS])  # no padding: same vectors
    assert np.abs(alone - torch_batch).max() < 1e-4
    assert np.allclose(np.linalg.norm(onnx_batch, axis=1), 1.0, atol=1e-5)


def test_export_is_made_once_and_reused(embed_model, monkeypatch):
    import torch

    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: pytest.fail("exported again"))
    start = time.perf_counter()
    folder = export_onnx(local_model_path("all-MiniLM-L6-v2"))
    assert (folder / "model.onnx").is_file() and time.perf_counter() - start < 5


def test_the_same_weights_elsewhere_reuse_the_export(embed_model, tmp_path, monkeypatch):
    """Another venv's copy of the same model (each clone has one) finds the export already made."""
    import shutil

    import torch

    model_dir = Path(local_model_path("all-MiniLM-L6-v2"))
    made = export_onnx(str(model_dir))
    copy = tmp_path / "other-venv" / model_dir.name
    shutil.copytree(model_dir, copy)
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: pytest.fail("exported again for a copy of the same weights"))
    assert export_onnx(str(copy)) == made


def test_export_that_does_not_reproduce_pytorch_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(embeddings, "MAX_EXPORT_DIFF", -1.0)  # any difference at all counts as wrong
    with pytest.raises(ConfigError, match="EMBED_BACKEND=torch"):
        export_onnx(local_model_path("all-MiniLM-L6-v2"), cache=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-made is left to be picked up later


def test_exporter_failure_falls_back_to_pytorch(tmp_path, monkeypatch, caplog):
    def broken(model_dir, cache=None):
        raise RuntimeError("no exporter here")

    monkeypatch.setattr(embeddings, "export_onnx", broken)
    model = build_embed_model(make_settings(tmp_path))
    assert type(model).__name__ == "HuggingFaceEmbedding" and "using PyTorch" in caplog.text
