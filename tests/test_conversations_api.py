"""Stored chats over the HTTP API (assistant/server/chats.py, /v1/chat/completions with a conversation id):
the lifecycle, follow-ups read from the stored chat, ownership by API key (S16), error statuses, and the
database failing (F18, F19). Then real `python -m assistant serve` processes: kill -9 in the middle of an
answer loses no earlier message (F23), and two processes on one PostgreSQL and one Chroma server carry
one chat between them (L8)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from starlette.datastructures import Headers

from assistant.conversations import ConversationStore
from assistant.server.app import ServerThread, build_app
from assistant.server.security import api_owner
from tests.conftest import free_port, make_settings, open_assistant, wait_for_http
from tests.gradio_session import GradioSession, cite_first_passage
from tests.test_ingest import TINY, write_knowledge
from tests.test_server import api_settings

WHISPER, FOLLOW_UP = "What is Whisper?", "Who made it?"
ALICE_KEY, BOB_KEY = "key-alice-0001", "key-bob-0002"


@contextlib.contextmanager
def serving(backend, tmp_path: Path, **overrides) -> Iterator[str]:
    """The API (no UI) over the backend, with a conversation database of its own; yields the base URL."""
    values = {"database_url": f"sqlite:///{tmp_path / 'chats.db'}", **overrides}
    with ServerThread(build_app(backend.assistant, api_settings(backend, **values), ui=False)) as server:
        yield server.url


def client(base: str, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=60, headers={"authorization": f"Bearer {key}"} if key else {})


def error_code(reply: httpx.Response) -> str:
    return reply.json()["error"]["code"]


# --- REST ---------------------------------------------------------------------------------------------
def test_a_chat_over_rest_create_continue_follow_up_open_rename_export_rate_delete(backend, tmp_path):
    with serving(backend, tmp_path) as base, client(base) as http:
        made = http.post("/api/conversations")
        assert made.status_code == 201 and made.json()["title"] == "" and "owner" not in made.json()
        chat_id = made.json()["id"]
        other = http.post("/api/conversations", json={"title": "Later"}).json()["id"]
        first = http.post(f"/api/conversations/{chat_id}/messages", json={"question": WHISPER})
        assert first.status_code == 200, first.text
        answer = first.json()
        assert answer["citations"][0]["entry_id"] == "whisper" and answer["conversation"]["stored"] is True
        follow = http.post(f"/api/conversations/{chat_id}/messages", json={"question": FOLLOW_UP}).json()
        assert follow["query"] == "Who made Whisper?" and "OpenAI" in follow["text"]  # history read from the chat
        listed = http.get("/api/conversations").json()["conversations"]
        assert [c["id"] for c in listed] == [chat_id, other] and listed[0]["title"] == WHISPER
        opened = http.get(f"/api/conversations/{chat_id}").json()
        assert [m["role"] for m in opened["messages"]] == ["user", "assistant"] * 2
        stored_answer = opened["messages"][3]
        assert stored_answer["id"] == follow["conversation"]["message_id"] and stored_answer["text"] == follow["text"]
        assert stored_answer["answer"]["citations"][0]["quote"] and stored_answer["answer"]["query"] == "Who made Whisper?"
        renamed = http.patch(f"/api/conversations/{chat_id}", json={"title": "Whisper"})
        assert renamed.status_code == 200 and renamed.json()["title"] == "Whisper"
        rated = http.post(f"/api/answers/{answer['conversation']['message_id']}/feedback",
                          json={"vote": "down", "reason": "wrong fact", "text": "check the creator"})
        assert rated.status_code == 200 and rated.json()["reason"] == "wrong_fact"
        markdown = http.get(f"/api/conversations/{chat_id}/export")
        assert markdown.headers["content-type"].startswith("text/markdown") and "attachment" in markdown.headers[
            "content-disposition"]
        assert "# Whisper" in markdown.text and "**Sources**" in markdown.text and "👎 — wrong fact" in markdown.text
        document = http.get(f"/api/conversations/{chat_id}/export", params={"format": "json"}).json()
        assert document["format"] == "genai-assistant/conversation" and len(document["messages"]) == 4
        assert http.delete(f"/api/conversations/{chat_id}").status_code == 204
        gone = http.get(f"/api/conversations/{chat_id}")
        assert gone.status_code == 404 and error_code(gone) == "conversation_not_found"
        assert gone.json()["error"]["type"] == "invalid_request_error"


def test_bad_requests_are_400_and_unknown_chats_404(backend, tmp_path):
    with serving(backend, tmp_path) as base, client(base) as http:
        chat_id = http.post("/api/conversations").json()["id"]
        attempts = backend.fake.attempts
        for method, path, body in (("post", f"/api/conversations/{chat_id}/messages", {"question": 42}),
                                   ("post", f"/api/conversations/{chat_id}/messages", {"question": "  "}),
                                   ("patch", f"/api/conversations/{chat_id}", {"title": "   "}),
                                   ("post", "/api/conversations", {"title": ["x"]})):
            reply = http.request(method.upper(), path, json=body)
            assert reply.status_code == 400 and reply.json()["error"]["type"] == "invalid_request_error", (path, reply.text)
        bad_json = http.post(f"/api/conversations/{chat_id}/messages", content=b"{", headers={"content-type": "application/json"})
        assert bad_json.status_code == 400 and error_code(bad_json) == "invalid_json"
        for missing in ("00000000-0000-0000-0000-000000000000", "not-an-id", "x" * 64, "%ED%A0%80"):
            for method, path in (("get", f"/api/conversations/{missing}"), ("delete", f"/api/conversations/{missing}"),
                                 ("post", f"/api/conversations/{missing}/messages")):
                reply = http.request(method.upper(), path, json={"question": WHISPER})
                assert reply.status_code == 404 and error_code(reply) == "conversation_not_found", (method, missing)
        assert http.get("/api/conversations/" + "x" * 65).status_code == 400  # longer than any id
        assert backend.fake.attempts == attempts  # nothing reached the LLM


def test_chat_completions_store_the_exchange_in_a_chat(backend, tmp_path):
    with serving(backend, tmp_path) as base, client(base) as http:
        chat_id = http.post("/api/conversations").json()["id"]
        sdk = openai.OpenAI(base_url=base + "/v1", api_key="none", max_retries=0, timeout=60)
        reply = sdk.chat.completions.create(model="genai-assistant", messages=[{"role": "user", "content": WHISPER}],
                                            extra_body={"conversation_id": chat_id})
        stored = reply.choices[0].message.model_extra["conversation"]
        assert stored["id"] == chat_id and stored["stored"] is True and stored["message_id"]
        # Streaming, the id in OpenAI's metadata, and only the new question: the follow-up reads the chat's history
        chunks = list(sdk.chat.completions.create(model="genai-assistant", stream=True, metadata={"conversation_id": chat_id},
                                                  messages=[{"role": "user", "content": FOLLOW_UP}]))
        final = chunks[-1].choices[0].delta.model_extra
        assert final["conversation"]["stored"] is True
        content = "".join(c.choices[0].delta.content or "" for c in chunks)
        messages = http.get(f"/api/conversations/{chat_id}").json()["messages"]
        assert [m["text"] for m in messages[::2]] == [WHISPER, FOLLOW_UP] and messages[3]["text"] == content
        assert messages[3]["answer"]["query"] == "Who made Whisper?" and messages[3]["id"] == final["conversation"]["message_id"]
        plain = sdk.chat.completions.create(model="genai-assistant", messages=[{"role": "user", "content": WHISPER}])
        assert "conversation" not in plain.choices[0].message.model_extra  # without an id nothing is stored
        attempts = backend.fake.attempts
        with pytest.raises(openai.NotFoundError, match="chat was not found"):
            sdk.chat.completions.create(model="genai-assistant", messages=[{"role": "user", "content": WHISPER}],
                                        extra_body={"conversation_id": "00000000-0000-0000-0000-000000000000"})
        with pytest.raises(openai.BadRequestError):
            sdk.chat.completions.create(model="genai-assistant", messages=[{"role": "user", "content": WHISPER}],
                                        metadata={"conversation_id": ["x"]})  # type: ignore[dict-item]
        assert backend.fake.attempts == attempts
        assert len(http.get(f"/api/conversations/{chat_id}").json()["messages"]) == 4


# --- S16: one API key never reaches another's chat ------------------------------------------------------------
def test_api_owner_is_a_digest_of_the_key_or_local():
    keyed = make_settings(Path("/tmp"), api_keys=f"{ALICE_KEY},{BOB_KEY}")
    headers = Headers({"authorization": f"Bearer {ALICE_KEY}"})
    assert api_owner(headers, keyed) == "key:" + hashlib.sha256(ALICE_KEY.encode()).hexdigest()[:16]
    assert ALICE_KEY not in api_owner(headers, keyed)
    assert api_owner(Headers({}), make_settings(Path("/tmp"))) == "local"


def test_S16_one_api_key_never_reaches_anothers_chat(backend, tmp_path):
    with serving(backend, tmp_path, api_keys=f"{ALICE_KEY},{BOB_KEY}") as base, \
            client(base, ALICE_KEY) as alice, client(base, BOB_KEY) as bob, client(base) as nobody:
        chat_id = alice.post("/api/conversations", json={"title": "Alice's"}).json()["id"]
        answer = alice.post(f"/api/conversations/{chat_id}/messages", json={"question": WHISPER}).json()
        answer_id = answer["conversation"]["message_id"]
        assert nobody.get("/api/conversations").status_code == 401
        assert bob.get("/api/conversations").json() == {"conversations": []}
        attempts = backend.fake.attempts
        refused = [bob.get(f"/api/conversations/{chat_id}"),
                   bob.patch(f"/api/conversations/{chat_id}", json={"title": "Bob's now"}),
                   bob.delete(f"/api/conversations/{chat_id}"),
                   bob.get(f"/api/conversations/{chat_id}/export"),
                   bob.get(f"/api/conversations/{chat_id}/export", params={"format": "json"}),
                   bob.post(f"/api/conversations/{chat_id}/messages", json={"question": FOLLOW_UP}),
                   bob.post(f"/api/answers/{answer_id}/feedback", json={"vote": "down"}),
                   bob.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": WHISPER}],
                                                          "conversation_id": chat_id}),
                   bob.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": WHISPER}], "stream": True,
                                                          "metadata": {"conversation_id": chat_id}})]
        for reply in refused:  # exactly what a missing chat gets: nothing tells that it exists
            assert reply.status_code == 404 and error_code(reply) == "conversation_not_found", reply.request.url
            assert "Alice" not in reply.text and WHISPER not in reply.text
        assert backend.fake.attempts == attempts
        mine = alice.get(f"/api/conversations/{chat_id}").json()
        assert mine["title"] == "Alice's" and len(mine["messages"]) == 2 and mine["messages"][1]["feedback"] is None
    with ConversationStore.open(f"sqlite:///{tmp_path / 'chats.db'}") as store:
        owners = {row.owner for row in store.list("key:" + hashlib.sha256(ALICE_KEY.encode()).hexdigest()[:16])}
        assert owners and all(ALICE_KEY not in owner for owner in owners)  # the key itself is never stored


# --- F18, F19: the database failing ----------------------------------------------------------------------------
def test_F19_corrupt_database_is_503_with_the_fix_and_answers_go_on(backend, tmp_path):
    path = tmp_path / "chats.db"
    path.write_bytes(b"not a database at all " * 100)
    before = path.read_bytes()
    with serving(backend, tmp_path) as base, client(base) as http:
        listed = http.get("/api/conversations")
        assert listed.status_code == 503 and error_code(listed) == "conversation_store_unavailable"
        assert "damaged" in listed.json()["error"]["message"] and "move the file aside" in listed.json()["error"]["message"]
        assert str(tmp_path) not in listed.text
        chat = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": WHISPER}],
                                                       "conversation_id": "00000000-0000-0000-0000-000000000000"})
        assert chat.status_code == 503  # the chat cannot be read, so it is not answered as if it were
        assert http.post("/api/ask", json={"question": WHISPER}).status_code == 200  # answers go on
    assert path.read_bytes() == before


def test_F18_locked_database_the_answer_comes_back_unstored_with_the_reason(backend, tmp_path):
    with serving(backend, tmp_path, database_timeout=0.5) as base, client(base) as http:
        chat_id = http.post("/api/conversations").json()["id"]
        other = sqlite3.connect(tmp_path / "chats.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock; readers go on (WAL)
        try:
            reply = http.post(f"/api/conversations/{chat_id}/messages", json={"question": WHISPER})
            assert reply.status_code == 200 and reply.json()["citations"]
            stored = reply.json()["conversation"]
            assert stored["stored"] is False and stored["message_id"] is None and "is locked" in stored["warning"]
            assert http.get(f"/api/conversations/{chat_id}").json()["messages"] == []
        finally:
            other.execute("ROLLBACK")
            other.close()
        again = http.post(f"/api/conversations/{chat_id}/messages", json={"question": WHISPER}).json()
        assert again["conversation"]["stored"] is True


# --- real `serve` processes ------------------------------------------------------------------------------------
def serve_env(data_dir: Path, fake_url: str, port: int, **extra: str) -> dict[str, str]:
    """A fresh shell's environment for `python -m assistant serve`: the FakeLLM as the model, no answers
    composed without it (so answers stream), and nothing from the developer's settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LLM_", "API_", "UI_", "DATA_DIR", "CHROMA_", "DATABASE_", "KNOWLEDGE_"))}
    env.update(DATA_DIR=str(data_dir), LLM_PROVIDER="openai_compatible", LLM_BASE_URL=fake_url, LLM_MODEL="fake",
               LLM_MAX_RETRIES="0", COMPOSE_ANSWERS="false", UI_PORT=str(port), HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False", ANONYMIZED_TELEMETRY="False", **extra)
    return env


@contextlib.contextmanager
def served_process(env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen]:
    """`python -m assistant serve`; stopped on the way out (SIGTERM, then SIGKILL to its whole group)."""
    log = open(cwd / f"serve-{env['UI_PORT']}.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve"], cwd=cwd, env=env, start_new_session=True,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # nothing of the group outlives the test
        proc.wait(timeout=30)
        log.close()


def wait_up(base: str, proc: subprocess.Popen, cwd: Path) -> None:
    wait_for_http(base + "/api/health", proc, 120,
                  output=lambda: "".join(p.read_text()[-3000:] for p in cwd.glob("serve-*.log")))


@pytest.mark.slow
def test_F23_kill_9_of_the_server_mid_answer_loses_no_earlier_message(index_copy, backend, tmp_path):
    port = free_port()
    env, base = serve_env(index_copy, backend.fake.url, port), f"http://127.0.0.1:{port}"
    questions = ["What is a variational autoencoder?", "How do diffusion models generate images?"]
    with served_process(env, tmp_path) as proc:
        wait_up(base, proc, tmp_path)
        with client(base) as http:
            chat_id = http.post("/api/conversations").json()["id"]
            for question in questions:
                assert http.post(f"/api/conversations/{chat_id}/messages", json={"question": question}).json()["conversation"][
                    "stored"]
            before = http.get(f"/api/conversations/{chat_id}").json()["messages"]
        backend.fake.set_mode("slow_stream", delay_per_chunk=0.3, reply_fn=cite_first_passage)
        body = {"messages": [{"role": "user", "content": "What is a GAN?"}], "stream": True, "conversation_id": chat_id}
        with httpx.stream("POST", base + "/v1/chat/completions", json=body, timeout=60) as reply:
            for line in reply.iter_lines():
                if '"draft"' in line:  # the model is streaming its answer: kill the server now
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
        proc.wait(timeout=30)
    backend.reset_llm()
    with served_process(env, tmp_path) as proc:  # restart over the same DATA_DIR/conversations.db
        wait_up(base, proc, tmp_path)
        with client(base) as http:
            assert [c["id"] for c in http.get("/api/conversations").json()["conversations"]] == [chat_id]
            after = http.get(f"/api/conversations/{chat_id}").json()["messages"]
            assert after == before and [m["text"] for m in after[::2]] == questions  # intact; no half exchange
            assert after[1]["answer"]["citations"] and after[3]["answer"]["citations"]
            assert http.post(f"/api/conversations/{chat_id}/messages", json={"question": "What is a GAN?"}).json()[
                "conversation"]["stored"]
            assert len(http.get(f"/api/conversations/{chat_id}").json()["messages"]) == 6
    with sqlite3.connect(index_copy / "conversations.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow
@pytest.mark.server
def test_L8_two_serve_processes_on_one_postgres_and_one_chroma_server_carry_one_chat(
        chroma_server, postgres_cluster, backend, embed_model, tmp_path):
    """Scale-out: a chat started on one `serve` continues on the other, through the HTTP API and the page."""
    knowledge = write_knowledge(tmp_path / "knowledge", TINY + [
        {"id": "whisper", "title": "Whisper", "kind": "glossary", "section": "Glossary",
         "text": "Whisper is a speech recognition model created by OpenAI that transcribes audio into text."}])
    shared = {"CHROMA_URL": chroma_server, "DATABASE_URL": postgres_cluster.create_database(), "KNOWLEDGE_DIR": str(knowledge)}
    indexer = open_assistant(make_settings(tmp_path / "ingest", chroma_url=chroma_server, knowledge_dir=knowledge), embed_model)
    indexer.ingest()  # once, against the Chroma server
    indexer.close()
    ports = free_port(), free_port()
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    with served_process(serve_env(tmp_path / "a", backend.fake.url, ports[0], **shared), tmp_path) as one, \
            served_process(serve_env(tmp_path / "b", backend.fake.url, ports[1], **shared), tmp_path) as two:
        wait_up(bases[0], one, tmp_path)
        wait_up(bases[1], two, tmp_path)
        with client(bases[0]) as a, client(bases[1]) as b:
            chat_id = a.post("/api/conversations").json()["id"]
            first = a.post(f"/api/conversations/{chat_id}/messages", json={"question": WHISPER}).json()
            assert first["conversation"]["stored"] and first["citations"][0]["entry_id"] == "whisper"
            follow = b.post(f"/api/conversations/{chat_id}/messages", json={"question": FOLLOW_UP}).json()
            assert follow["conversation"]["stored"] and follow["query"] == "Who made Whisper?"  # the history came from A
            assert [m["text"] for m in a.get(f"/api/conversations/{chat_id}").json()["messages"][::2]] == [WHISPER, FOLLOW_UP]
        # The page: a chat started in one process's UI is listed and continued in the other's, for the same browser
        with GradioSession(bases[0] + "/", timeout=60) as tab:
            assert "Whisper" in tab.ask(WHISPER).last
            browser = tab.browser
        with GradioSession(bases[1] + "/", timeout=60, browser=browser) as elsewhere:
            (title, ui_chat), = elsewhere.chats()
            assert title == WHISPER and "Whisper" in elsewhere.open_chat(ui_chat).last
            assert "Searched for: Who made Whisper?" in elsewhere.ask(FOLLOW_UP).last
    with ConversationStore.open(shared["DATABASE_URL"]) as store:
        assert len(store.get(f"browser:{browser}", ui_chat).messages) == 4
        assert len(store.get("local", chat_id).messages) == 4


def test_the_conversation_api_is_in_the_docs(backend, tmp_path):
    with serving(backend, tmp_path) as base:
        paths = httpx.get(base + "/api/openapi.json", timeout=30).json()["paths"]
    for path in ("/api/conversations", "/api/conversations/{chat_id}", "/api/conversations/{chat_id}/messages",
                 "/api/conversations/{chat_id}/export", "/api/answers/{answer_id}/feedback"):
        assert path in paths, path
    assert "question" in json.dumps(paths["/api/conversations/{chat_id}/messages"])
