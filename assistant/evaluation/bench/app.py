"""UI start time and peak memory, cold (the UI starts the LLM server) and warm (a server already runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_DIR, Settings
from assistant.evaluation.bench.stats import free_port, process_tree, status_kb


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.1)
    return None


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (UI and its LLM server), then SIGKILL what is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def start_ui(data_dir: Path, llm_port: int, log_path: Path, timeout: float = 240) -> dict[str, Any]:
    """Run `python -m assistant ui` until GET / answers 200; its time and the tree's peak RSS (VmHWM)."""
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "UI_PORT": str(port), "UI_HOST": "127.0.0.1", "UI_AUTH": "",
           "LLM_PROVIDER": "local", "LLM_BASE_URL": "", "LLM_MODEL": "", "LOCAL_LLM_PORT": str(llm_port), "CHROMA_URL": "",
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "ui"], cwd=PROJECT_DIR, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        seconds = _wait_http(f"http://127.0.0.1:{port}/", proc, timeout)
        if seconds is None:
            tail = log_path.read_text(errors="replace")[-600:]
            return {"error": f"UI did not answer within {timeout:.0f} s (exit {proc.poll()}): {tail}"}
        time.sleep(1.0)  # let start-up allocations settle before reading the peaks
        tree = process_tree(proc.pid)
        peaks = {pid: status_kb(pid, "VmHWM") / 1024 for pid in tree}
        return {"start_s": seconds, "peak_rss_ui_mb": peaks[proc.pid], "peak_rss_tree_mb": sum(peaks.values()),
                "processes": len(tree)}
    finally:
        _stop_group(proc)


def bench_app(base: Settings, data_dir: Path) -> dict[str, Any]:
    """Cold start (the UI starts the LLM server) and warm start (an LLM server already runs)."""
    from assistant.llm import LocalLLMServer

    log_path = base.data_dir / "ui-bench.log"
    cold = start_ui(data_dir, free_port(), log_path)
    llm_port = free_port()
    server = LocalLLMServer(base.model_copy(update={"data_dir": data_dir, "local_llm_port": llm_port}))
    server.start()
    try:
        warm = start_ui(data_dir, llm_port, log_path)
        if "error" not in warm and server.process:
            llm_peak = status_kb(server.process.pid, "VmHWM") / 1024
            warm["peak_rss_llm_server_mb"] = llm_peak
            warm["peak_rss_tree_mb"] = warm["peak_rss_tree_mb"] + llm_peak
    finally:
        server.stop()
    return {"cold": cold, "warm": warm}

