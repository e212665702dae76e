"""The bundled LLM's build, health and supervision (issue: portable build; F13, F15, F16).

Real processes throughout: the llama.cpp server with SmolLM2, a server that crashes on every
completion (tests/crashing_llm.py), `python -m assistant ui` and `doctor` as subprocesses. Every
test checks that no server outlives what started it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import llama_cpp
import pytest

from assistant.api import Assistant
from assistant.doctor import check_llama_build
from assistant.llm import LLMService, LocalLLMServer
from tests.conftest import PROJECT_DIR, free_port, make_settings, open_assistant, wait_until

CRASHING = Path(__file__).with_name("crashing_llm.py")


def servers_on(port: int) -> list[int]:
    """Pids of processes whose command line serves `port` (llama.cpp or the crashing server)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--port" in args and str(port).encode() in args and int(proc.name) != os.getpid():
            found.append(int(proc.name))
    return found



def kill_all(port: int) -> None:
    for pid in servers_on(port):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- portable build -------------------------------------------------------------------------------
def test_llama_cpp_is_built_for_the_portable_baseline():
    """No AVX-512 or AMX in the build (a native build on Intel Xeon crashes in AMX code); AVX2 and FMA are in."""
    info = llama_cpp.llama_print_system_info().decode()
    assert re.search(r"\bAVX2 = 1", info) and re.search(r"\bFMA = 1", info), info
    assert not re.search(r"(AVX512\w*|AMX\w*|AVX_VNNI) = 1", info), info
    lib = Path(llama_cpp.__file__).parent / "lib" / "libggml-cpu.so"
    objdump = shutil.which("objdump")
    assert objdump, "objdump (binutils) is needed to inspect the build"
    code = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True, check=True).stdout
    assert "ymm" in code, "no AVX2 code at all: the build flags were not applied"
    assert not re.search(r"%zmm|%k[1-7]\b|%tmm|tileloadd|tdpb", code), "AVX-512 or AMX instructions in libggml-cpu.so"
    assert check_llama_build().status == "ok"


def test_doctor_rejects_a_native_build_and_missing_cpu_features():
    native = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | FMA = 1 |"
    assert check_llama_build(native, {"avx2", "fma"}).status == "FAIL"
    portable = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 |"
    lacking = check_llama_build(portable, {"pni", "ssse3", "avx", "f16c", "fma", "bmi2"})
    assert lacking.status == "FAIL" and "AVX2" in lacking.detail
    assert check_llama_build(portable, {"pni", "ssse3", "avx", "avx2", "f16c", "fma", "bmi2"}).status == "ok"


# --- F13: crashes are restarted (bounded), and shown -------------------------------------------------
@pytest.fixture
def local_settings(index_copy):
    port = free_port()
    settings = make_settings(index_copy, llm_provider="local", llm_base_url="", llm_model="", local_llm_port=port,
                             llm_timeout=120, llm_max_tokens=48, compose_answers=False)
    yield settings
    kill_all(port)


@pytest.mark.slow
def test_F13_sigkill_of_the_real_server_mid_session_is_healed(local_settings, embed_model):
    with open_assistant(local_settings, embed_model) as a:
        assert a.start_llm().llm_state == "ready"
        first = a.ask("What is a negative prompt?")
        assert first.mode in ("generated", "extractive") and "unavailable" not in first.notice
        [pid] = servers_on(local_settings.local_llm_port)
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: not servers_on(local_settings.local_llm_port), 10)
        after = a.ask("What is beam search used for?")  # no exception: restarted, or the sources quoted
        assert after.mode in ("generated", "extractive") and after.citations
        later = a.ask("What is a variational autoencoder?")
        health = a.health()
        assert health.llm_state == "ready" and health.llm_restarts == 1, health
        assert "unavailable" not in later.notice and later.mode in ("generated", "extractive")
        [new_pid] = servers_on(local_settings.local_llm_port)
        assert new_pid != pid
    assert wait_until(lambda: not servers_on(local_settings.local_llm_port), 10), "close() left the server running"


def test_F13_a_server_that_crashes_on_every_completion_is_restarted_then_stays_down(index_copy, embed_model):
    port = free_port()
    settings = make_settings(index_copy, llm_provider="local", llm_base_url="", llm_model="", local_llm_port=port,
                             compose_answers=False)
    server = LocalLLMServer(settings, command=[str(CRASHING), "--port", str(port)])
    server.BACKOFF = (0.05, 0.05, 0.05)  # the schedule is the class's; the test only shortens the waits
    try:
        a = Assistant.from_settings(settings, embed_model=embed_model, llm=LLMService(settings, server))
        states = []
        for question in ["What is a negative prompt?"] * 6:
            answer = a.ask(question)
            assert answer.mode == "extractive" and answer.citations, answer  # the sources are still quoted
            assert answer.notice, "the answer says the LLM failed"
            states.append(a.health())
        final = states[-1]
        assert final.llm_state == "down" and final.llm_restarts == LocalLLMServer.MAX_RESTARTS
        assert "not restarted again" in final.llm_error and "SIGSEGV" in final.llm_error
        assert "ggml_backend_amx_mul_mat" in final.llm_error  # the server log's last lines travel with the cause
        before = servers_on(port)
        a.ask("What is beam search?")
        assert servers_on(port) == before == [], "a server was started after the budget was spent"
        a.close()
    finally:
        kill_all(port)


def test_F13_ui_status_shows_the_llm_down_and_why_then_ready(stack):
    from ui.handlers import ChatUI, Session

    ui = ChatUI(stack.assistant, stack.settings)
    stack.fake.set_mode("status", status=503)
    list(ui.respond("What is a variational autoencoder?", Session(), "t"))
    status = ui.status()
    assert "down" in status and "(503)" in status, status
    stack.reset_llm()
    list(ui.respond("What is a variational autoencoder?", Session(), "t"))
    assert "ready" in ui.status()


def test_F13_health_is_typed_and_checked_with_a_completion(stack):
    from assistant import Health

    health = stack.assistant.health()
    assert isinstance(health, Health) and health.llm_state == "ready" and health.llm_error == ""
    assert health.index_size == stack.assistant.index_size > 0 and health.checked_at
    stack.fake.set_mode("status", status=500)  # /v1/models still answers 200: that is not "ready"
    stack.assistant.llm.check()
    assert stack.assistant.health().llm_state == "down"


# --- F15: no orphans -------------------------------------------------------------------------------
def _env(data_dir: Path, llm_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LLM_BASE_URL", "LLM_MODEL", "CHROMA_URL")}
    env.update(DATA_DIR=str(data_dir), LLM_PROVIDER="local", LOCAL_LLM_PORT=str(llm_port), HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False", **extra)
    return env


@pytest.mark.slow
def test_F15_sigterm_of_the_ui_leaves_no_llama_server(index_copy):
    llm_port, ui_port = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "ui"], cwd=PROJECT_DIR, start_new_session=True,
                            env=_env(index_copy, llm_port, UI_PORT=str(ui_port)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        def serving() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/", timeout=1).status == 200
            except OSError:
                return proc.poll() is not None
        assert wait_until(serving, 120) and proc.poll() is None
        assert servers_on(llm_port), "the UI did not start its LLM server"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert wait_until(lambda: not servers_on(llm_port), 10), "the llama.cpp server outlived the UI"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        kill_all(llm_port)


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["exit without close()", "SIGKILL"])
def test_F15_a_python_process_that_ends_without_close_leaves_no_server(index_copy, ending):
    llm_port = free_port()
    code = ("import os, signal\nfrom assistant import Assistant\n"
            "a = Assistant.from_settings()\nassert a.start_llm().llm_state == 'ready', a.health()\nprint('ready', flush=True)\n"
            + ("os.kill(os.getpid(), signal.SIGKILL)\n" if ending == "SIGKILL" else ""))
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, env=_env(index_copy, llm_port),
                              capture_output=True, text=True, timeout=180)
        assert "ready" in done.stdout, done.stdout + done.stderr
        assert wait_until(lambda: not servers_on(llm_port), 10), f"the server outlived its parent ({ending})"
    finally:
        kill_all(llm_port)


# --- F16: doctor -------------------------------------------------------------------------------------
def doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", "doctor"], cwd=PROJECT_DIR, env=env, capture_output=True,
                          text=True, timeout=180)


def _line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if re.match(rf"^(ok|warn|FAIL)\s+{name}\b", line))


def test_F16_doctor_reports_each_failure_with_its_fix(tmp_path, index_copy):
    base = {k: v for k, v in os.environ.items() if k not in ("LLM_BASE_URL", "LLM_MODEL", "CHROMA_URL", "EMBED_MODEL")}
    down = {"LLM_PROVIDER": "openai_compatible", "LLM_BASE_URL": "http://127.0.0.1:9/v1", "LLM_MODEL": "x",
            "CHROMIUM_PATH": str(tmp_path / "no-chromium")}
    empty = doctor({**base, **down, "DATA_DIR": str(tmp_path / "empty")})
    assert empty.returncode == 1, empty.stdout
    assert "FAIL  index" in empty.stdout and "Fix: run `python -m assistant ingest`" in _line(empty.stdout, "index")
    assert "LLM unavailable at http://127.0.0.1:9/v1" in _line(empty.stdout, "llm") and "Fix:" in _line(empty.stdout, "llm")
    assert _line(empty.stdout, "chromium").startswith("warn") and "apt-get install -y chromium" in empty.stdout
    assert _line(empty.stdout, "python").startswith("ok") and _line(empty.stdout, "llama.cpp").startswith("ok")
    other = doctor({**base, **down, "DATA_DIR": str(index_copy), "EMBED_MODEL": "another-model"})
    assert "FAIL  index" in other.stdout and "another-model" in _line(other.stdout, "index")
    server = doctor({**base, **down, "DATA_DIR": str(tmp_path / "x"), "CHROMA_URL": f"http://127.0.0.1:{free_port()}"})
    assert _line(server.stdout, "chroma").startswith("FAIL") and "CHROMA_URL" in _line(server.stdout, "chroma")


def test_F16_doctor_passes_on_a_working_setup_and_measures_tokens_per_second(index_copy, shared_fake_llm):
    base = {k: v for k, v in os.environ.items() if k not in ("CHROMA_URL", "EMBED_MODEL")}
    env = {**base, "DATA_DIR": str(index_copy), "LLM_PROVIDER": "openai_compatible", "LLM_BASE_URL": shared_fake_llm.url,
           "LLM_MODEL": "fake", "CHROMIUM_PATH": sys.executable}
    done = doctor(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"answered a completion at \d+ tokens/s", _line(done.stdout, "llm"))
    assert "All checks passed." in done.stdout
