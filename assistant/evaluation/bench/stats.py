"""Statistics, targets, machine facts and small helpers shared by the benchmark's stages."""

from __future__ import annotations

import json
import math
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import PROJECT_DIR, Settings
from assistant.evaluation.metrics import percentile

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from assistant.api import Assistant

GOLD = PROJECT_DIR / "evals" / "gold.jsonl"
# (result key, label, comparison, threshold); checked against this run's figures.
TARGETS = [
    ("ingest.ratio", "ingest chunks/s ÷ raw embedding chunks/s", ">=", 0.9),
    ("ingest.reingest_fraction", "re-ingest of unchanged material ÷ full ingest time", "<=", 0.05),
    ("answers.ours.ttft.p50", "time to first token, p50 (s)", "<=", 1.5),
    ("answers.ours.ttft.p95", "time to first token, p95 (s)", "<=", 1.2),
    ("api.latency.added_p50_ms", "HTTP API overhead over the Python API, p50 (ms)", "<=", 5.0),
    ("app.cold.peak_rss_tree_mb", "peak RSS, UI + LLM server (MB)", "<=", 1500),
]


# --- statistics ------------------------------------------------------------------------------
def summarize(values: list[float]) -> dict[str, float]:
    """n, p50, p95, mean, min and max of a sample."""
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "mean": sum(values) / len(values), "min": min(values), "max": max(values)}


def fit_exponent(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log y against log x: y ∝ x^slope."""
    points = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(points) < 2:
        return None
    mx = sum(p[0] for p in points) / len(points)
    my = sum(p[1] for p in points) / len(points)
    den = sum((p[0] - mx) ** 2 for p in points)
    return sum((p[0] - mx) * (p[1] - my) for p in points) / den if den else None


def lookup(result: dict[str, Any], key: str) -> Any:
    """A nested value by dotted key, or None."""
    value: Any = result
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def check_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value and whether it is met (None when not measured)."""
    rows = []
    for key, label, op, threshold in TARGETS:
        value = lookup(result, key)
        met = None if value is None else (value >= threshold if op == ">=" else value <= threshold)
        rows.append({"key": key, "label": label, "target": f"{op} {threshold}", "value": value, "met": met})
    return rows


# --- machine and helpers -----------------------------------------------------------------------
def machine_facts() -> dict[str, Any]:
    """nproc, CPU model, RAM, load and library versions: what the numbers depend on."""
    import importlib.metadata as md

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    versions = {}
    for name in ("llama-index-core", "chromadb", "gradio", "llama_cpp_python", "sentence-transformers", "torch", "onnxruntime",
                 "bm25s"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = "absent"
    return {"nproc": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)), "cpu_model": cpu,
            "ram_gb": round(mem_kb / 1024**2, 1), "python": platform.python_version(), "versions": versions,
            "loadavg_start": list(os.getloadavg())}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb() -> float:
    return status_kb(os.getpid(), "VmRSS") / 1024


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc/*/stat parent ids)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += parents.get(pid, [])
    return tree


def load_questions(path: Path = GOLD) -> list[dict[str, Any]]:
    """Gold questions without history (standalone), in file order."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if not r.get("history")]


def open_assistant(settings: Settings, embed_model: BaseEmbedding) -> Assistant:
    """An Assistant over settings' store, reusing an already loaded embedding model."""
    from assistant.api import Assistant

    return Assistant.from_settings(settings, embed_model=embed_model)

