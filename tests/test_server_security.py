"""Security of the served app with real clients: exposure defaults and API keys (S7), rate limit and
admission (L4), origins and CORS (S6), Host allow-list (S9), and no key, password or traceback in any
response or log (S4, S11).
Admission beyond API_MAX_CONCURRENT is L9."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import httpx
import openai
import pytest

from assistant.errors import ConfigError
from assistant.server.app import serve
from assistant.server.security import check_exposure
from tests.conftest import make_settings, open_assistant
from tests.test_server import DIFFUSION, WHISPER, api_settings, served

KEYS = "key-one-4f9a2c,key-two-7b1e3d"

def chat(url: str, key: str | None = None, question: str = WHISPER, **headers: str) -> httpx.Response:
    if key:
        headers["authorization"] = f"Bearer {key}"
    return httpx.post(url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]},
                      headers=headers, timeout=60)


# --- S7: exposure defaults and keys -------------------------------------------------------------------
def test_S7_a_non_loopback_bind_needs_keys_and_a_login(tmp_path, capsys):
    exposed = make_settings(tmp_path, ui_host="0.0.0.0")
    with pytest.raises(ConfigError, match="API_KEYS"):
        check_exposure(exposed)
    assert serve(exposed) == 2 and "API_KEYS" in capsys.readouterr().err
    keyed = make_settings(tmp_path, ui_host="0.0.0.0", api_keys=KEYS)
    assert serve(keyed) == 2 and "UI_AUTH" in capsys.readouterr().err  # the UI's own rule still holds
    check_exposure(make_settings(tmp_path))  # loopback: no key needed
    check_exposure(make_settings(tmp_path, ui_host="0.0.0.0", api_keys=KEYS, ui_auth="alice:s3cret-pass"))


def test_S7_with_keys_every_api_request_needs_one(backend):
    with served(backend.assistant, api_settings(backend, api_keys=KEYS), ui=True) as server:
        for reply in (chat(server.url), chat(server.url, "wrong-key-000000"),
                      httpx.get(server.url + "/api/health", headers={"authorization": "Basic a2V5LW9uZQ=="}, timeout=30),
                      httpx.post(server.url + "/mcp", json={}, timeout=30)):
            assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
            assert reply.json()["error"] == {"message": reply.json()["error"]["message"], "type": "authentication_error",
                                             "code": "invalid_api_key"}
            assert "key-one" not in reply.text and "key-two" not in reply.text
        assert chat(server.url, "key-two-7b1e3d").status_code == 200
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=server.url + "/v1", api_key="key-one-4f9a2", max_retries=0).models.list()
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="key-one-4f9a2c", max_retries=0, timeout=60)
        assert client.chat.completions.create(model="genai-assistant", messages=[{"role": "user", "content": WHISPER}]
                                              ).choices[0].message.model_extra["citations"][0]["entry_id"] == "whisper"
        # The page (its own login, UI_AUTH), the docs and the schema need no key.
        for path in ("/", "/docs", "/api/openapi.json"):
            assert httpx.get(server.url + path, timeout=30).status_code == 200
        assert _mcp_ask(server.url, "key-one-4f9a2c")["citations"][0]["entry_id"] == "whisper"


def _mcp_ask(url: str, key: str) -> dict:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> dict:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            async with Client(streamable_http_client(url + "/mcp", http_client=http)) as client:
                return (await client.call_tool("ask", {"question": WHISPER})).structured_content

    return asyncio.run(run())


def test_S7_without_keys_loopback_clients_need_none(backend):
    with served(backend.assistant, api_settings(backend)) as server:
        assert chat(server.url).status_code == 200
        assert chat(server.url, "anything-at-all").status_code == 200  # a key is ignored when none is configured


# --- L4, L9: rate limit and admission -----------------------------------------------------------------------
def test_L4_rate_limit_is_per_key(backend):
    with served(backend.assistant, api_settings(backend, api_keys=KEYS, api_rate_limit=3)) as server:
        assert [chat(server.url, "key-one-4f9a2c").status_code for _ in range(3)] == [200, 200, 200]
        limited = chat(server.url, "key-one-4f9a2c")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
        assert limited.json()["error"]["type"] == "rate_limit_error" and "API_RATE_LIMIT" in limited.json()["error"]["message"]
        with pytest.raises(openai.RateLimitError):
            openai.OpenAI(base_url=server.url + "/v1", api_key="key-one-4f9a2c", max_retries=0).models.list()
        assert chat(server.url, "key-two-7b1e3d").status_code == 200  # the other key has its own budget


def test_S12_forwarded_for_does_not_make_a_new_client(backend):
    """Without keys the limit is per client address; a loopback caller cannot claim other addresses."""
    with served(backend.assistant, api_settings(backend, api_rate_limit=2)) as server:
        replies = [chat(server.url, **{"x-forwarded-for": f"203.0.113.{n}"}) for n in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]


def test_L9_more_answers_than_slots_get_429_with_retry_after(backend):
    backend.fake.set_mode("ok", delay=1.5)  # each LLM answer takes 1.5 s
    with served(backend.assistant, api_settings(backend, api_max_concurrent=1)) as server:
        slow: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: slow.append(chat(server.url, question=DIFFUSION)))
        worker.start()
        time.sleep(0.5)
        busy = chat(server.url, question=WHISPER)
        worker.join()
    assert slow[0].status_code == 200
    assert busy.status_code == 429 and busy.json()["error"]["code"] == "server_busy" and busy.headers["retry-after"] == "1"


def test_L9_a_client_that_leaves_mid_stream_frees_its_slot(backend):
    backend.fake.set_mode("slow_stream", delay_per_chunk=0.2)
    with served(backend.assistant, api_settings(backend, api_max_concurrent=1)) as server:
        body = {"messages": [{"role": "user", "content": DIFFUSION}], "stream": True}
        with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=60) as reply:
            next(reply.iter_lines())  # the role chunk; then the client goes away
        backend.fake.set_mode("ok")
        deadline = time.monotonic() + 10
        while (after := chat(server.url, question=WHISPER)).status_code == 429 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert after.status_code == 200


# --- S6: origins and CORS -----------------------------------------------------------------------------------
def test_S6_foreign_origins_are_refused_unless_listed(backend):
    with served(backend.assistant, api_settings(backend), ui=True) as server:
        for path in ("/v1/models", "/api/health", "/"):
            assert httpx.get(server.url + path, headers={"origin": "http://evil.example"}, timeout=30).status_code == 403
        assert chat(server.url, origin="http://evil.example").status_code == 403
        assert httpx.get(server.url + "/v1/models", headers={"origin": server.url}, timeout=30).status_code == 200
    listed = "https://chat.example.org"
    with served(backend.assistant, api_settings(backend, api_cors_origins=listed), ui=True) as server:
        preflight = httpx.options(server.url + "/v1/chat/completions", timeout=30, headers={
            "origin": listed, "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type"})
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == listed
        reply = chat(server.url, origin=listed)
        assert reply.status_code == 200 and reply.headers["access-control-allow-origin"] == listed
        assert chat(server.url, origin="https://other.example.org").status_code == 403
        assert httpx.get(server.url + "/", headers={"origin": listed}, timeout=30).status_code == 403  # CORS is for the APIs


# --- S9: Host allow-list ------------------------------------------------------------------------------------
def test_S9_unknown_host_names_are_refused(backend):
    with served(backend.assistant, api_settings(backend), ui=True) as server:
        for path in ("/", "/v1/models", "/mcp", "/config"):
            reply = httpx.get(server.url + path, headers={"host": "rebind.attacker.example"}, timeout=30)
            assert reply.status_code == 403, path
        port = server.url.rsplit(":", 1)[1]
        assert httpx.get(server.url + "/v1/models", headers={"host": f"localhost:{port}"}, timeout=30).status_code == 200
    with served(backend.assistant, api_settings(backend, allowed_hosts="assistant.example.org")) as server:
        port = server.url.rsplit(":", 1)[1]
        assert httpx.get(server.url + "/v1/models", headers={"host": "assistant.example.org"}, timeout=30).status_code == 200
        assert httpx.get(server.url + "/v1/models", headers={"host": f"localhost:{port}"}, timeout=30).status_code == 403


# --- S4/S11: no secret or traceback in responses or logs -----------------------------------------------------
def test_S11_S4_no_secret_in_any_response_or_log(tmp_path, indexed_dir, embed_model, backend, caplog):
    """LLM URL with credentials (down), an LLM key, API keys and a UI password: none appears anywhere."""
    secrets = ("hunter2-url-password", "sk-llm-key-0a9b8c", "key-one-4f9a2c", "ui-pass-5d6e7f")
    settings = make_settings(indexed_dir, "http://admin:hunter2-url-password@127.0.0.1:9/v1",
                             llm_api_key="sk-llm-key-0a9b8c", api_keys=KEYS, ui_auth="alice:ui-pass-5d6e7f", api_rate_limit=0)
    assistant = open_assistant(settings, embed_model)
    texts: list[str] = []
    try:
        with caplog.at_level(logging.INFO), served(assistant, settings, ui=True) as server:
            auth = {"authorization": "Bearer key-one-4f9a2c"}
            texts.append(chat(server.url, "key-one-4f9a2c", question=DIFFUSION).text)
            texts.append(httpx.get(server.url + "/api/health", headers=auth, timeout=30).text)
            texts.append(httpx.post(server.url + "/api/ask", headers=auth, json={"question": "x" * 5000}, timeout=30).text)
            texts.append(httpx.post(server.url + "/api/ask", headers=auth, content=b"{", timeout=30).text)
            texts.append(chat(server.url, "key-one-4f9a2").text)
            with httpx.stream("POST", server.url + "/v1/chat/completions", headers=auth, timeout=60,
                              json={"messages": [{"role": "user", "content": DIFFUSION}], "stream": True}) as reply:
                texts.append(reply.read().decode())
    finally:
        assistant.close()
    assert "LLM" in texts[0] and "127.0.0.1:9" in texts[0]  # the notice names the endpoint …
    everything = "\n".join(texts) + caplog.text
    for secret in secrets:
        assert secret not in everything, secret  # … but never a credential
    assert "Traceback" not in "\n".join(texts)
