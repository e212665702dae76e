"""Self-tests for tests/fakellm.py, driven by the real ``openai`` client over HTTP."""

from __future__ import annotations

import concurrent.futures
import json
import time
import urllib.error
import urllib.request

import httpx
import openai
import pytest

from tests import fakellm
from tests.fakellm import FakeLLM

fake_llm = fakellm.fake_llm  # the fixture (same object conftest re-exports)


def client(fake: FakeLLM, *, max_retries: int = 0, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url, api_key="sk-test", max_retries=max_retries, timeout=timeout)


MSGS = [{"role": "user", "content": "Say hello"}]


def test_health_and_models(fake_llm):
    with urllib.request.urlopen(fake_llm.root_url + "/health", timeout=5) as r:
        assert r.status == 200
        assert json.loads(r.read()) == {"status": "ok"}
    models = client(fake_llm).models.list()
    assert [m.id for m in models.data] == ["fake-model"]
    # GET endpoints are not counted as attempts
    assert fake_llm.attempts == 0


def test_ok_non_stream_chat_and_completion(fake_llm):
    c = client(fake_llm)
    r = c.chat.completions.create(model="fake-model", messages=MSGS)
    assert r.choices[0].message.content == "Hello [1]."
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens == 2

    fake_llm.set_mode("ok", reply="plain text answer")
    r2 = c.completions.create(model="fake-model", prompt="Q: hi\nA:")
    assert r2.choices[0].text == "plain text answer"

    assert [("messages" in b, "prompt" in b) for b in fake_llm.requests] == [(True, False), (False, True)]
    assert fake_llm.requests[0]["messages"] == MSGS
    assert fake_llm.request_headers[0]["authorization"] == "Bearer sk-test"
    assert fake_llm.attempts == 2


def test_ok_stream_chat_and_completion(fake_llm):
    fake_llm.set_mode("ok", reply="The answer is 42 [1].")
    c = client(fake_llm)
    chunks = list(c.chat.completions.create(model="fake-model", messages=MSGS, stream=True))
    contents = [ch.choices[0].delta.content for ch in chunks if ch.choices and ch.choices[0].delta.content]
    assert len(contents) == 5  # one chunk per word-ish token
    assert "".join(contents) == "The answer is 42 [1]."
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert fake_llm.requests[-1]["stream"] is True

    # stream_options include_usage -> trailing usage chunk with no choices
    chunks = list(c.chat.completions.create(model="fake-model", messages=MSGS, stream=True,
                                            stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5

    text = "".join(ch.choices[0].text for ch in c.completions.create(model="fake-model", prompt="x", stream=True))
    assert text == "The answer is 42 [1]."


def test_reply_fn_and_delay(fake_llm):
    fake_llm.set_mode("ok", reply_fn=lambda body: body["messages"][-1]["content"].upper(), delay=0.3)
    t0 = time.monotonic()
    r = client(fake_llm).chat.completions.create(model="m", messages=MSGS)
    assert time.monotonic() - t0 >= 0.3
    assert r.choices[0].message.content == "SAY HELLO"
    assert r.model == "m"  # echoes the requested model


def test_401_authentication_error(fake_llm):
    fake_llm.set_mode("status", status=401)
    with pytest.raises(openai.AuthenticationError) as ei:
        client(fake_llm).chat.completions.create(model="fake-model", messages=MSGS)
    assert ei.value.status_code == 401
    assert ei.value.code == "invalid_api_key"


def test_400_and_503_status_errors(fake_llm):
    fake_llm.set_mode("status", status=400, message="context length exceeded", code="context_length_exceeded")
    with pytest.raises(openai.BadRequestError) as ei:
        client(fake_llm).chat.completions.create(model="fake-model", messages=MSGS)
    assert "context length exceeded" in str(ei.value)
    fake_llm.set_mode("status", status=503)
    with pytest.raises(openai.InternalServerError):  # error status also applies to stream=True
        client(fake_llm).chat.completions.create(model="fake-model", messages=MSGS, stream=True)


def test_429_rate_limit_with_retry_after(fake_llm):
    fake_llm.set_mode("status", status=429, retry_after=7)
    with pytest.raises(openai.RateLimitError) as ei:
        client(fake_llm).chat.completions.create(model="fake-model", messages=MSGS)
    assert ei.value.status_code == 429
    assert ei.value.response.headers["retry-after"] == "7"
    assert fake_llm.attempts == 1  # max_retries=0


def test_500_times_1_then_ok_with_retry(fake_llm):
    # retry_after=0.1 keeps the client's back-off short (openai honours Retry-After)
    fake_llm.set_mode("status", status=500, times=1, retry_after=0.1)
    r = client(fake_llm, max_retries=1).chat.completions.create(model="fake-model", messages=MSGS)
    assert r.choices[0].message.content == "Hello [1]."
    assert fake_llm.attempts == 2
    assert len(fake_llm.requests) == 2
    assert fake_llm.mode == "ok"


def test_malformed_json(fake_llm):
    fake_llm.set_mode("malformed")
    # Seen with openai 1.x: json.JSONDecodeError (a ValueError) raised from
    # httpx.Response.json() while parsing the response; accept openai.APIError too.
    with pytest.raises((openai.APIError, ValueError)) as ei:
        client(fake_llm).chat.completions.create(model="fake-model", messages=MSGS)
    print("malformed ->", type(ei.value).__module__, type(ei.value).__name__)


def test_cut_stream_raises_before_finish(fake_llm):
    fake_llm.set_mode("cut", reply="one two three four five six", cut_after=2)
    stream = client(fake_llm).chat.completions.create(model="fake-model", messages=MSGS, stream=True)
    seen: list[str] = []
    finish = None
    # Seen: httpx.RemoteProtocolError ("peer closed connection without sending
    # complete message body (incomplete chunked read)") escaping stream iteration.
    with pytest.raises((httpx.HTTPError, openai.APIError)) as ei:
        for ch in stream:
            if ch.choices:
                seen.append(ch.choices[0].delta.content or "")
                finish = finish or ch.choices[0].finish_reason
    print("cut stream ->", type(ei.value).__module__, type(ei.value).__name__)
    assert finish is None
    assert "".join(seen) == "one two"


def test_cut_non_stream_raises(fake_llm):
    fake_llm.set_mode("cut")
    # Seen: openai.APIConnectionError wrapping httpx.RemoteProtocolError (short body).
    with pytest.raises((openai.APIError, httpx.HTTPError)):
        client(fake_llm).chat.completions.create(model="fake-model", messages=MSGS)


def test_hang_times_out_and_stop_is_prompt():
    fake = FakeLLM().start()
    try:
        fake.set_mode("hang")
        t0 = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            client(fake, timeout=1).chat.completions.create(model="fake-model", messages=MSGS)
        assert time.monotonic() - t0 < 3
        assert fake.attempts == 1 and len(fake.requests) == 1
        # another client still hanging on the server while we stop it
        pool = concurrent.futures.ThreadPoolExecutor(1)
        fut = pool.submit(lambda: client(fake, timeout=30).chat.completions.create(model="x", messages=MSGS))
        time.sleep(0.2)
    finally:
        t1 = time.monotonic()
        fake.stop()
        stop_took = time.monotonic() - t1
    assert stop_took < 2
    # the hanging request is dropped, not answered (seen: APIConnectionError, "Server disconnected")
    with pytest.raises(openai.APIConnectionError):
        fut.result(timeout=5)
    pool.shutdown()


def test_slow_stream(fake_llm):
    fake_llm.set_mode("slow_stream", reply="a b c", delay_per_chunk=0.15)
    t0 = time.monotonic()
    arrivals = []
    for ch in client(fake_llm).chat.completions.create(model="fake-model", messages=MSGS, stream=True):
        if ch.choices and ch.choices[0].delta.content:
            arrivals.append(time.monotonic() - t0)
    assert len(arrivals) == 3
    assert arrivals[-1] >= 0.4
    assert arrivals[1] - arrivals[0] >= 0.1  # chunks really arrive spread out


def test_times_applies_to_other_modes(fake_llm):
    fake_llm.set_mode("malformed", times=1)
    c = client(fake_llm)
    with pytest.raises((openai.APIError, ValueError)):
        c.chat.completions.create(model="fake-model", messages=MSGS)
    assert c.chat.completions.create(model="fake-model", messages=MSGS).choices[0].message.content == "Hello [1]."


def test_set_mode_validation():
    fake = FakeLLM()
    with pytest.raises(ValueError):
        fake.set_mode("bogus")
    with pytest.raises(TypeError):
        fake.set_mode("status", stauts=500)
    with pytest.raises(RuntimeError):
        _ = fake.url  # not started


def test_many_sequential_and_concurrent_requests(fake_llm):
    fake_llm.set_mode("ok", reply_fn=lambda b: "echo " + b["messages"][0]["content"])
    c = client(fake_llm)
    for i in range(20):
        r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": str(i)}])
        assert r.choices[0].message.content == f"echo {i}"

    def one(i: int) -> str:
        stream = i % 2 == 0
        r = c.chat.completions.create(model="m", messages=[{"role": "user", "content": str(i)}], stream=stream)
        if stream:
            return "".join(ch.choices[0].delta.content or "" for ch in r if ch.choices)
        return r.choices[0].message.content

    # 32 requests x 0.2 s would take 6.4 s if served one at a time
    fake_llm.set_mode("ok", delay=0.2)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(one, range(32)))
    assert results == [f"echo {i}" for i in range(32)]
    assert time.monotonic() - t0 < 3  # requests are served concurrently
    assert fake_llm.attempts == 52 and len(fake_llm.requests) == 52


def test_context_manager_and_restart():
    fake = FakeLLM(reply="hi", model="other")
    with fake:
        url1 = fake.url
        assert client(fake).models.list().data[0].id == "other"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url1.replace("/v1", "/health"), timeout=1)
    with fake:  # restartable (new port)
        assert client(fake).chat.completions.create(model="x", messages=MSGS).choices[0].message.content == "hi"
