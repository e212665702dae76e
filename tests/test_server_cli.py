"""`python -m assistant serve` as people run it: a subprocess on a free port that answers the openai SDK,
an MCP client and the browser page, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx
import openai
import pytest

from tests.conftest import free_port, wait_for_http


def command_env(data_dir, fake, **extra: str) -> dict[str, str]:
    """The environment of a command run from a fresh shell: the project's settings, the FakeLLM as the LLM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "API_", "UI_", "DATA_DIR", "CHROMA_"))}
    env.update(DATA_DIR=str(data_dir), LLM_PROVIDER="openai_compatible", LLM_BASE_URL=fake.url, LLM_MODEL="fake",
               LLM_MAX_RETRIES="0", HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", **extra)
    return env


@pytest.mark.slow
def test_S7_serve_command_answers_every_client_and_stops_on_sigterm(index_copy, backend, tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve"], cwd=tmp_path, start_new_session=True,
                            env=command_env(index_copy, backend.fake, UI_PORT=str(port)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/api/health", proc, 120, output=lambda: proc.communicate()[0])
        client = openai.OpenAI(base_url=base + "/v1", api_key="none", max_retries=0, timeout=60)
        question = [{"role": "user", "content": "Who created Whisper?"}]
        message = client.chat.completions.create(model="genai-assistant", messages=question).choices[0].message
        citation = message.model_extra["citations"][0]
        assert citation["entry_id"] == "whisper" and citation["verified"] and "[1]" in message.content

        async def mcp_ask() -> dict:
            from mcp import Client

            async with Client(base + "/mcp") as mcp:
                return (await mcp.call_tool("ask", {"question": "Who created StyleGAN?"})).structured_content

        assert asyncio.run(mcp_ask())["citations"][0]["entry_id"] == "stylegan"
        assert "gradio" in httpx.get(base + "/", timeout=30).text.lower()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, output
        assert "serving at" in output and "stopped" in output and "Traceback" not in output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
