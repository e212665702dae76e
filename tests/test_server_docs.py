"""Every example of the README's "Use it from other clients" section run against a live server: the curl
lines (sent with httpx exactly as curl would send them), the reply shown, the Python snippets (executed
as written), the MCP client configurations (stdio and HTTP) and the Open WebUI settings."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import shlex
import sys

import httpx
import pytest

from assistant.config import PROJECT_DIR, markdown_table
from tests.test_server import api_settings, served
from tests.test_server_cli import command_env

# The README's "Use it from other clients" section, up to the next top-level section.
DOC = "## Use it from other clients" + (PROJECT_DIR / "README.md").read_text().split("## Use it from other clients", 1)[1].split(
    "\n## Conversations", 1)[0]
BASE = "http://127.0.0.1:7860"
KEY = "doc-key-93c1f0"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def curl_lines() -> list[str]:
    return [b.strip() for b in blocks("bash") if b.strip().startswith("curl ")]


def curl(line: str, base: str, key: str = "") -> httpx.Response:
    """Send what `curl` would send for this command line (the options the docs use)."""
    args = shlex.split(line.replace(BASE, base).replace("$API_KEY", key))
    assert args[0] == "curl"
    method, headers, data, url = "GET", {}, None, ""
    options = iter(args[1:])
    for arg in options:
        if arg in ("-s", "-N", "-sN"):
            continue
        if arg == "-H":
            name, _, value = next(options).partition(":")
            headers[name.strip().lower()] = value.strip()
        elif arg == "-d":
            method, data = "POST", next(options)
            headers.setdefault("content-type", "application/x-www-form-urlencoded")  # curl's default for -d
        elif arg.startswith("http"):
            url = arg
        else:
            raise AssertionError(f"the docs use a curl option this test does not know: {arg}")
    return httpx.request(method, url, headers=headers, content=data, timeout=60)


@pytest.fixture(scope="module")
def server(api_stack):
    with served(api_stack.assistant, api_settings(api_stack)) as running:
        yield running


@pytest.fixture(scope="module")
def keyed(api_stack):
    """A server as the docs configure it for Open WebUI: keys and the Sources block."""
    with served(api_stack.assistant, api_settings(api_stack, api_keys=KEY, api_sources_block=True)) as running:
        yield running


def test_curl_examples(server, backend):
    lines = [line for line in curl_lines() if "$API_KEY" not in line]
    assert len(lines) >= 8
    for line in lines:
        reply = curl(line, server.url)
        assert reply.status_code == 200, (line, reply.text)
        if '"stream": true' in line:
            assert reply.text.rstrip().endswith("data: [DONE]") and '"citations"' in reply.text
        elif "/chat/completions" in line:
            message = reply.json()["choices"][0]["message"]
            assert message["citations"] and all(c["verified"] for c in message["citations"])
        else:
            assert reply.json()


def test_curl_example_with_a_key(keyed):
    (line,) = [line for line in curl_lines() if "$API_KEY" in line]
    assert curl(line, keyed.url, KEY).status_code == 200
    assert curl(line, keyed.url, "not-the-key").status_code == 401


def test_the_reply_shown_is_what_the_server_answers(server):
    (shown,) = [json.loads(b.replace(BASE, server.url)) for b in blocks("json") if "chat.completion" in b]
    request = '"model": "genai-assistant", "messages": [{"role": "user", "content": "Who created Whisper?"}]'
    (line,) = [line for line in curl_lines() if request in line]
    message = curl(line, server.url).json()["choices"][0]["message"]
    expected = shown["choices"][0]["message"]
    for key in ("content", "citations", "annotations", "refused", "notice", "mode"):
        assert message[key] == expected[key], key


def _run_python(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "__docs__"})  # noqa: S102 - the docs' own example
    return out.getvalue()


def test_openai_sdk_example(server):
    (code,) = [b for b in blocks("python") if "from openai import OpenAI" in b]
    printed = _run_python(code.replace(BASE, server.url))
    assert "Whisper — creator: OpenAI — generates: Transcribed Text" in printed
    assert f"{server.url}/api/entries/whisper" in printed and "diffusion-models" in printed


def test_mcp_python_example(server):
    (code,) = [b for b in blocks("python") if "from mcp import Client" in b]
    printed = _run_python(code.replace(BASE, server.url))
    assert "Whisper — creator: OpenAI — generates: Transcribed Text" in printed


def test_mcp_http_configuration(keyed):
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    (config,) = [json.loads(b) for b in blocks("json") if '"type": "http"' in b]
    server = config["mcpServers"]["genai-assistant"]
    assert server["type"] == "http"
    url = server["url"].replace(BASE, keyed.url)
    headers = {k: v.replace("<key>", KEY) for k, v in server["headers"].items()}

    async def run() -> dict:
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                return (await client.call_tool("list_models", {"generates": "audio"})).structured_content

    assert asyncio.run(run())["count"] > 0


@pytest.mark.slow
def test_mcp_stdio_configuration(indexed_dir, backend, tmp_path):
    from mcp import Client, StdioServerParameters

    (config,) = [json.loads(b) for b in blocks("json") if '"command"' in b]
    server = config["mcpServers"]["genai-assistant"]
    assert server["command"].endswith("/.venv/bin/python")
    params = StdioServerParameters(command=sys.executable, args=server["args"], cwd=str(tmp_path),
                                   env=command_env(indexed_dir, backend.fake))

    async def run():
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            ask = await client.call_tool("ask", {"question": "How do diffusion models generate images?"})
            search = await client.call_tool("search", {"question": "latent space", "k": 2})
            entry = await client.call_tool("get_entry", {"entry_id": "latent-space"})
            models = await client.call_tool("list_models", {"creator": "openai"})
            bad = await client.call_tool("search", {"question": "latent space", "k": 0})
            return names, ask, search, entry, models, bad

    names, ask, search, entry, models, bad = asyncio.run(run())
    assert names == {"ask", "search", "get_entry", "list_models"}
    assert ask.structured_content["citations"][0]["entry_id"] == "diffusion-models" and "[1]" in ask.content[0].text
    assert len(search.structured_content["passages"]) == 2 and entry.structured_content["kind"] == "concept"
    assert {m["creator"] for m in models.structured_content["models"]} == {"OpenAI"}
    assert bad.is_error


def test_open_webui_settings(keyed, backend):
    section = DOC.split("### Open WebUI", 1)[1].split("###", 1)[0]
    assert "API_SOURCES_BLOCK=true" in section
    (base,) = set(re.findall(r"`(http://127\.0\.0\.1:7860/v1)`", section))
    base = base.replace(BASE, keyed.url)
    auth = {"authorization": f"Bearer {KEY}"}
    models = httpx.get(base + "/models", headers=auth, timeout=30).json()
    assert [m["id"] for m in models["data"]] == ["genai-assistant"]
    # What Open WebUI sends: a streamed completion with its own extra parameters.
    body = {"model": "genai-assistant", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Who created Whisper?"}], "metadata": {"chat_id": "x"}}
    with httpx.stream("POST", base + "/chat/completions", json=body, headers=auth, timeout=60) as reply:
        events = [json.loads(line[6:]) for line in reply.iter_lines() if line.startswith("data: {")]
    content = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
    assert "**Sources**" in content and "Whisper — creator: OpenAI — generates: Transcribed Text" in content


def test_docs_list_every_api_setting():
    rows = [r for r in markdown_table().splitlines() if r.startswith(("| `API_", "| `ALLOWED_HOSTS`"))]
    assert len(rows) == 8 and all(row in (PROJECT_DIR / "README.md").read_text() for row in rows)
    assert all(row.split("|")[1].strip() in DOC for row in rows)  # and the section names each setting
