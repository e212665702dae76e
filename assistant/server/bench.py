"""API overhead and throughput: the same questions through ``Assistant.ask`` in-process and through
``POST /api/ask`` on the served app (uvicorn on loopback, one keep-alive connection), alternating so
both see the same machine load; then throughput with 1 and with N concurrent HTTP clients.
Writes ``api_bench.json``, ``api_bench.md`` and ``api_bench.png`` to a folder.

    from assistant.server.bench import bench_api
    result = bench_api(assistant, settings, Path("evals/bench"))
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from assistant.evaluation.metrics import percentile

if TYPE_CHECKING:
    from assistant.api import Assistant
    from assistant.config import Settings

# Model-table, definition and LLM-written answers alike (the overhead does not depend on the answer).
QUESTIONS = ("Who created Whisper?", "What does DALL-E generate?", "What is latent space?", "Who created StyleGAN?",
             "What is a variational autoencoder?", "How do diffusion models generate images?", "What is overfitting?",
             "Which models did NVIDIA create?")
TARGET_OVERHEAD_MS = 5.0  # added at p50 by the HTTP API over the Python API


def _summary(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "n": len(ms)}


def _ask_http(http: Any, question: str) -> float:
    started = time.perf_counter()
    reply = http.post("/api/ask", json={"question": question})
    elapsed = time.perf_counter() - started
    reply.raise_for_status()
    return elapsed


def _throughput(url: str, questions: Sequence[str], clients: int, per_client: int) -> dict[str, Any]:
    """Requests per second with `clients` threads, each with its own connection, asking `per_client` questions."""
    import httpx

    errors: list[str] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            for i in range(per_client):
                question = questions[(n + i) % len(questions)]
                try:
                    elapsed = _ask_http(http, question)
                except Exception as exc:  # counted, not raised: the figure is how many failed
                    with lock:
                        errors.append(type(exc).__name__)
                    continue
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"clients": clients, "requests": clients * per_client, "errors": len(errors), "wall_s": wall,
            "requests_per_s": len(latencies) / wall if wall else 0.0, **(_summary(latencies) if latencies else {})}


def bench_api(assistant: Assistant, settings: Settings, out: Path, questions: Sequence[str] = QUESTIONS,
              repeats: int = 5, clients: int = 8, per_client: int = 4) -> dict[str, Any]:
    """Measure, write the report into `out`, and return the figures."""
    import httpx

    from assistant.server.app import ServerThread, build_app

    # No rate limit and room for every client: the bench measures the API, not its limits.
    bench_settings = settings.model_copy(update={"api_rate_limit": 0, "api_max_concurrent": max(clients, 1),
                                                 "api_keys": SecretStr("")})
    app = build_app(assistant, bench_settings, ui=False)
    direct: list[float] = []
    api: list[float] = []
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        for question in questions:  # warm-up: caches, connections, the LLM's prompt cache
            assistant.ask(question)
            _ask_http(http, question)
        for _ in range(repeats):
            for question in questions:
                started = time.perf_counter()
                assistant.ask(question)
                direct.append(time.perf_counter() - started)
                api.append(_ask_http(http, question))
        sequential = _throughput(server.url, questions, 1, per_client * clients)
        concurrent = _throughput(server.url, questions, clients, per_client)
    d, a = _summary(direct), _summary(api)
    paired = _summary([x - y for x, y in zip(api, direct, strict=True)])
    added_p50 = a["p50_ms"] - d["p50_ms"]
    result: dict[str, Any] = {
        "questions": len(questions), "repeats": repeats,
        "latency": {"python_api": d, "http_api": a, "added_p50_ms": added_p50, "added_p95_ms": a["p95_ms"] - d["p95_ms"],
                    "paired_difference": paired},
        "target_added_p50_ms": TARGET_OVERHEAD_MS, "meets_target": added_p50 <= TARGET_OVERHEAD_MS,
        "throughput": {"sequential": sequential, "concurrent": concurrent}}
    write_report(result, out)
    return result


def render_markdown(result: dict[str, Any]) -> str:
    from assistant.evaluation.bench.report import fmt

    lat, thr = result["latency"], result["throughput"]
    rows = [("Python API (`Assistant.ask`)", lat["python_api"]["p50_ms"], lat["python_api"]["p95_ms"]),
            ("HTTP API (`POST /api/ask`)", lat["http_api"]["p50_ms"], lat["http_api"]["p95_ms"]),
            ("added by HTTP", lat["added_p50_ms"], lat["added_p95_ms"]),
            ("paired difference (HTTP − Python, same question)", lat["paired_difference"]["p50_ms"],
             lat["paired_difference"]["p95_ms"])]
    lines = ["## HTTP API overhead and throughput", "",
             f"{result['questions']} questions × {result['repeats']} repeats, alternating the two paths; "
             f"target: ≤ {fmt(result['target_added_p50_ms'])} ms added at p50 "
             f"({'met' if result['meets_target'] else 'missed'}).", "",
             "| path | p50 (ms) | p95 (ms) |", "|---|---|---|"]
    lines += [f"| {name} | {fmt(p50)} | {fmt(p95)} |" for name, p50, p95 in rows]
    lines += ["", "| clients | requests | errors | requests/s | p50 (ms) | p95 (ms) |", "|---|---|---|---|---|---|"]
    for run in (thr["sequential"], thr["concurrent"]):
        lines.append(f"| {run['clients']} | {run['requests']} | {run['errors']} | {fmt(run['requests_per_s'])} | "
                     f"{fmt(run.get('p50_ms'))} | {fmt(run.get('p95_ms'))} |")
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat, thr = result["latency"], result["throughput"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    names = ["Python API", "HTTP API"]
    for offset, key, label in ((-0.2, "p50_ms", "p50"), (0.2, "p95_ms", "p95")):
        left.bar([i + offset for i in range(2)], [lat["python_api"][key], lat["http_api"][key]], width=0.4, label=label)
    left.set_xticks(range(2), names)
    left.set_ylabel("ms per answer")
    left.set_title("Latency of the same questions")
    left.legend()
    runs = [thr["sequential"], thr["concurrent"]]
    right.bar([f"{r['clients']} client{'s' if r['clients'] > 1 else ''}" for r in runs], [r["requests_per_s"] for r in runs])
    right.set_ylabel("answers per second")
    right.set_title("Throughput of POST /api/ask")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "api_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "api_bench.md").write_text(render_markdown(result) + "\n![API latency and throughput](api_bench.png)\n")
    plot(result, out / "api_bench.png")
