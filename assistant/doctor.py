"""`python -m assistant doctor`: check what the assistant needs, one line per check with its fix.

Checks: Python and the project's packages, the llama.cpp build (portable instruction sets the CPU
has), Chroma (embedded folder or server), the index (exists, matches the embedding model), the LLM
(a real completion, with tokens per second) and Chromium (for the browser tests). Exits 1 when a
check fails; a warning (Chromium missing) does not fail.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.config import PROJECT_DIR, Settings
from assistant.errors import AssistantError
from assistant.redact import redact

Status = Literal["ok", "warn", "FAIL"]
PYTHON = (3, 11)
# Instruction sets a portable build may use (see the Makefile's LLAMA_CMAKE_ARGS) and the
# /proc/cpuinfo flag each needs; anything else compiled in (AVX512, AMX) is not portable.
PORTABLE = {"SSE3": "pni", "SSSE3": "ssse3", "AVX": "avx", "AVX2": "avx2", "F16C": "f16c", "FMA": "fma", "BMI2": "bmi2"}
NOT_PORTABLE = re.compile(r"\b(AVX512\w*|AVX_VNNI|AMX\w*)\s*=\s*1")


@dataclass
class Check:
    """One line of the report."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f" Fix: {self.fix}" if self.fix and self.status != "ok" else ""
        return f"{self.status:<5} {self.name:<9} {self.detail}{fix}"


def check_python() -> Check:
    version = sys.version_info[:2]
    if version != PYTHON:
        return Check("python", "FAIL", f"Python {'.'.join(map(str, version))}; the project needs 3.11.",
                     "create the venv with python3.11 (make install does).")
    try:
        requires = importlib.metadata.requires("genai-assistant") or []
    except importlib.metadata.PackageNotFoundError:
        return Check("python", "FAIL", "the project is not installed in this Python.", "run `make install`.")
    missing = []
    for requirement in requires:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check("python", "FAIL", f"missing packages: {', '.join(missing)}.", "run `make install`.")
    return Check("python", "ok", f"Python {sys.version.split()[0]}, {len(requires)} requirements installed.")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def check_llama_build(system_info: str | None = None, flags: set[str] | None = None) -> Check:
    """The llama.cpp build uses only portable instruction sets, all of which this CPU has."""
    fix = "rebuild it for the portable baseline: `rm -rf .venv/.installed ~/.cache/genai-assistant/wheels && make install`."
    if system_info is None:
        try:
            import llama_cpp

            system_info = llama_cpp.llama_print_system_info().decode(errors="replace")
        except Exception as exc:  # a broken native library raises many types
            return Check("llama.cpp", "FAIL", f"llama-cpp-python cannot be loaded ({type(exc).__name__}).", fix)
    flags = cpu_flags() if flags is None else flags
    native = sorted(set(NOT_PORTABLE.findall(system_info)))
    if native:
        return Check("llama.cpp", "FAIL", f"built with {', '.join(native)}: not portable (an AMX build crashes on Intel "
                     "Xeon CPUs; machines change between sessions).", fix)
    used = [name for name in PORTABLE if re.search(rf"\b{name} = 1", system_info)]
    lacking = [name for name in used if flags and PORTABLE[name] not in flags]
    if lacking:
        return Check("llama.cpp", "FAIL", f"built for {', '.join(lacking)}, which this CPU lacks.",
                     "rebuild with fewer flags: `make install LLAMA_CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX2=OFF ...\"`.")
    return Check("llama.cpp", "ok", f"portable build ({', '.join(used) or 'baseline'}).")


def check_store(settings: Settings) -> tuple[Check, Check]:
    """Chroma opens (folder or server), and the index holds passages made by the configured embedding model."""
    from assistant.store import Store

    where = redact(settings.chroma_url) or str(settings.chroma_path)
    try:
        store = Store(settings.chroma_path, settings.chroma_url, settings.chroma_collection)
    except AssistantError as exc:
        fix = "start the Chroma server or fix CHROMA_URL." if settings.chroma_url else "see the message above."
        return (Check("chroma", "FAIL", redact(str(exc)), fix),
                Check("index", "FAIL", "not checked: Chroma is not reachable.", "fix Chroma first."))
    try:
        chroma = Check("chroma", "ok", f"{'server' if settings.chroma_url else 'embedded store'} at {where}.")
        count = store.count()
        if count == 0:
            return chroma, Check("index", "FAIL", "the index is empty.", "run `python -m assistant ingest` (or `make index`).")
        try:
            store.check_embedding(settings.embed_model_name)
        except AssistantError as exc:
            return chroma, Check("index", "FAIL", str(exc), "run `python -m assistant ingest --rebuild`.")
        return chroma, Check("index", "ok", f"{count:,} passages embedded with {settings.embed_model_name}.")
    finally:
        store.close()


def check_llm(settings: Settings) -> Check:
    """A real chat completion (up to 64 tokens) through the configured LLM, with tokens per second
    (completion tokens over the whole request, prompt reading included: what a user waits for)."""
    from assistant.llm import LLMService

    service = LLMService(settings)
    try:
        service.start()
        speed = service.check(max_tokens=64) if service.state == "ready" else None
        if speed is None:
            fix = ("run `python -m assistant serve-llm` to see the server's own error, or check "
                   f"{settings.data_dir / 'llm-server.log'}." if settings.llm_provider == "local"
                   else "start the endpoint, or fix LLM_BASE_URL / LLM_API_KEY / LLM_MODEL.")
            return Check("llm", "FAIL", service.error or "no completion.", fix)
        return Check("llm", "ok", f"{settings.llm_provider} · {settings.llm_model_name} at {service.url} answered a "
                     f"completion at {speed:.0f} tokens/s.")
    finally:
        service.close()


def check_chromium(settings: Settings) -> Check:
    path = settings.chromium_path
    if path.is_file() and os.access(path, os.X_OK):
        return Check("chromium", "ok", f"{path} (for the browser tests).")
    return Check("chromium", "warn", f"{path} not found: the browser tests cannot run (the app does not need it).",
                 "`apt-get install -y chromium` (`make test` installs it).")


def run(settings: Settings, say: Callable[[str], None] = print) -> list[Check]:
    """All checks, each printed as it completes."""
    checks: list[Check] = []

    def record(*found: Check) -> None:
        for check in found:
            checks.append(check)
            say(check.line())

    record(check_python())
    record(check_llama_build())
    record(*check_store(settings))
    record(check_llm(settings))
    record(check_chromium(settings))
    return checks


def main(settings: Settings) -> int:
    print(f"Checking the assistant in {PROJECT_DIR} (data in {settings.data_dir})…", flush=True)
    checks = run(settings, lambda line: print(line, flush=True))
    failed = [c.name for c in checks if c.status == "FAIL"]
    print(f"{len(failed)} check(s) failed: {', '.join(failed)}." if failed else "All checks passed.")
    return 1 if failed else 0
