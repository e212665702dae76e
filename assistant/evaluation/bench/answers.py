"""Answer latency with the bundled model: ours and the LlamaIndex defaults' query engine, client-side timings,
prompt token counts and the llama.cpp server's own log."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from assistant.config import Settings
from assistant.evaluation.bench.stats import open_assistant, summarize

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from assistant.api import Assistant

ANSWER_BUDGET_S = 120.0  # a streamed answer is cut off after this, so a starved machine cannot stall the run
_PREFIX = re.compile(r"(\d+) prefix-match hit")
_PROMPT_EVAL = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
_EVAL = re.compile(r" eval time =\s*([\d.]+) ms /\s*(\d+) runs")


def server_records(log_text: str) -> list[dict[str, Any]]:
    """Per completion request, what llama.cpp's server logged: prefix-cache hit, prompt tokens evaluated and how long."""
    records: list[dict[str, Any]] = []
    prefix = 0
    for line in log_text.splitlines():
        if match := _PREFIX.search(line):
            prefix = int(match.group(1))
        elif match := _PROMPT_EVAL.search(line):
            records.append({"prefix_hit": prefix, "prompt_eval_tokens": int(match.group(2)),
                            "prompt_eval_ms": float(match.group(1))})
            prefix = 0
        elif (match := _EVAL.search(line)) and records:
            records[-1].update(decode_tokens=int(match.group(2)), decode_ms=float(match.group(1)))
    return records


class PromptCounter:
    """Records the messages of every LLM chat call (LlamaIndex instrumentation) and counts their
    tokens with the llama.cpp server's tokenizer (SmolLM2's ChatML rendering, special tokens included)."""

    method = "llama.cpp /extras/tokenize/count"

    def __init__(self, server_root: str):
        from llama_index.core.instrumentation import get_dispatcher
        from llama_index.core.instrumentation.event_handlers import BaseEventHandler
        from llama_index.core.instrumentation.events.llm import LLMChatStartEvent

        calls: list[list[Any]] = []

        class Handler(BaseEventHandler):
            @classmethod
            def class_name(cls) -> str:
                return "BenchPromptCapture"

            def handle(self, event: Any, **kwargs: Any) -> None:
                if isinstance(event, LLMChatStartEvent):
                    calls.append(list(event.messages))

        self.calls, self.root = calls, server_root.rstrip("/")
        self.dispatcher, self.handler = get_dispatcher(), Handler()
        self.dispatcher.add_event_handler(self.handler)

    def count(self, text: str) -> int:
        request = urllib.request.Request(f"{self.root}/extras/tokenize/count", data=json.dumps({"input": text}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            return int(json.load(reply)["count"])

    def take(self) -> tuple[int, int]:
        """(LLM calls, prompt tokens summed over them) since the last take."""
        rendered = ["".join(f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"
                    for messages in self.calls]
        self.calls.clear()
        return len(rendered), sum(self.count(text) for text in rendered)

    def close(self) -> None:
        self.dispatcher.event_handlers.remove(self.handler)


def answer_questions(assistant: Assistant, questions: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Answerable standalone questions that reach the LLM (not a table list, not refused by the gate, not
    answered from the entries themselves)."""
    from assistant.intent import COMPOSED

    traces = {q["question"]: assistant.trace(q["question"]) for q in questions if q["answerable"]}
    composed = COMPOSED if assistant.settings.compose_answers else frozenset()
    chosen = [q for q in questions if q["answerable"] and traces[q["question"]].route == "search"
              and traces[q["question"]].answerable
              and getattr(assistant.analyze(traces[q["question"]].query).intent, "kind", None) not in composed]
    return chosen[:: max(1, len(chosen) // count)][:count]


def _stream_ours(assistant: Assistant, question: str) -> dict[str, Any]:
    """Ours, timed by the Answer's own Timings (the project's one definition of time to first token)."""
    from assistant.types import Answer

    start, final = time.perf_counter(), None
    for event in assistant.stream(question):
        if isinstance(event, Answer):
            final = event
        if time.perf_counter() - start > ANSWER_BUDGET_S:
            break  # closing the stream ends the request; the row says it timed out
    if final is None:
        return {"ttft_s": None, "total_s": time.perf_counter() - start, "mode": "timed out"}
    return {"ttft_s": final.timings.first_text_s, "total_s": final.timings.total_s, "mode": final.mode}


def _stream_defaults(engine: Any, question: str) -> dict[str, Any]:
    """LlamaIndex's default engine, timed by the same definition as ``Timings.first_text_s``:
    from the call to the first non-empty text delta."""
    start, first = time.perf_counter(), None
    for delta in engine.query(question).response_gen:
        if delta and first is None:
            first = time.perf_counter() - start
        if time.perf_counter() - start > ANSWER_BUDGET_S:
            break
    total = time.perf_counter() - start
    return {"ttft_s": first, "total_s": total, "mode": "timed out" if total > ANSWER_BUDGET_S else "streamed"}


def _answer_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def stat(key: str) -> dict[str, float] | None:
        values = [r[key] for r in rows if r.get(key) is not None]
        return summarize(values) if values else None

    out = {"questions": len(rows), "rows": rows}
    for key, name in (("ttft_s", "ttft"), ("total_s", "total"), ("prompt_tokens", "prompt_tokens"),
                      ("prompt_eval_ms", "server_prompt_eval_ms"), ("prompt_eval_tokens", "server_prompt_eval_tokens"),
                      ("prefix_hit", "server_prefix_hit"), ("ttft_minus_prompt_eval_s", "ttft_minus_prompt_eval")):
        out[name] = stat(key)
    return out


def assign_server_records(requests: list[dict[str, Any]], records: list[dict[str, Any]]) -> bool:
    """Give each request row the server records of its `llm_calls` completion requests, summed. `requests` are every
    question streamed in the log's span, in the order they were asked: the server logs one record per completion request,
    in request order. False, and the rows left as they are, when the counts differ."""
    if len(records) != sum(r["llm_calls"] for r in requests):
        return False
    at = 0
    for row in requests:
        mine, at = records[at:at + row["llm_calls"]], at + row["llm_calls"]
        row["prompt_eval_ms"] = sum(r["prompt_eval_ms"] for r in mine)
        row["prompt_eval_tokens"] = sum(r["prompt_eval_tokens"] for r in mine)
        row["prefix_hit"] = sum(r["prefix_hit"] for r in mine)
        if row.get("ttft_s") is not None and row["llm_calls"] == 1:
            row["ttft_minus_prompt_eval_s"] = row["ttft_s"] - row["prompt_eval_ms"] / 1000
    return True


def bench_llm(settings: Settings, embed_model: BaseEmbedding, questions: list[dict[str, Any]], count: int,
              index: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the bundled model, then stream the questions through ours as one block and through the defaults' query
    engine as a second block, each block after its own warm-up question."""
    from assistant.llm import LocalLLMServer

    server = LocalLLMServer(settings)
    start = time.perf_counter()
    server.start()
    llm_start_s = time.perf_counter() - start
    assistant = open_assistant(settings, embed_model)
    counter = PromptCounter(settings.local_llm_url.removesuffix("/v1"))
    try:
        engine = index.as_query_engine(llm=assistant.llm.client, streaming=True, similarity_top_k=5)
        chosen = answer_questions(assistant, questions, count)
        warm = next(q for q in questions if q["answerable"] and q not in chosen)
        counter.take()
        log_start = server.log_path.stat().st_size
        rows: dict[str, list[dict[str, Any]]] = {"ours": [], "defaults": []}
        requests: list[dict[str, Any]] = []  # every question streamed since log_start, warm-ups included, in order
        blocks: dict[str, Callable[[str], dict[str, Any]]] = {"ours": partial(_stream_ours, assistant),
                                                              "defaults": partial(_stream_defaults, engine)}
        for name, stream in blocks.items():
            warm_row = stream(warm["question"])  # warm-up: model pages, this pipeline's system prompt in the prefix cache
            warm_row["llm_calls"] = counter.take()[0]
            requests.append(warm_row)
            for q in tqdm(chosen, desc=f"Answers ({name})", unit="q", leave=False):
                row = stream(q["question"])
                row["id"], (row["llm_calls"], row["prompt_tokens"]) = q["id"], counter.take()
                rows[name].append(row)
                requests.append(row)
        with open(server.log_path, "rb") as log:
            log.seek(log_start)
            records = server_records(log.read().decode(errors="replace"))
    finally:
        counter.close()
        assistant.close()
        server.stop()
    matched = assign_server_records(requests, records)
    note = " ".join([
        f"{len(chosen)} answerable gold questions that reach the LLM (no model-table list, not refused by the gate, not "
        "answered from the entries themselves),",
        "streamed through ours as one block, then through the defaults' query engine as a second block, each block after",
        "its own warm-up question. Blocks, not alternating questions: consecutive requests of one pipeline share its system",
        "prompt, so llama.cpp's prompt-prefix cache serves that prefix, as it does for a user asking one assistant several",
        "questions; alternating the pipelines would evict it before every request. A change in the machine's load between",
        "the blocks affects the two unequally. llama.cpp server with",
        f"{settings.llm_model_name}, {settings.local_llm_threads} threads, n_ctx {settings.llm_context_window},",
        f"max {settings.llm_max_tokens} answer tokens, started in {llm_start_s:.1f} s.",
        "TTFT: from the call to the first non-empty text delta (ours: `Assistant.stream`, retrieval and gate included).",
        "Answer time runs to the verified Answer (ours) or the end of the stream (defaults),",
        f"cut off after {ANSWER_BUDGET_S:.0f} s. Prompt tokens: every LLM call's messages as captured by LlamaIndex",
        f"instrumentation, rendered in ChatML and counted by {PromptCounter.method}. Server-side figures come from the llama.cpp",
        "server's own log (prompt tokens evaluated after its prefix cache, and how long that took)"
        + ("." if matched else ": not matched to requests in this run.")])
    return ({"ours": _answer_stats(rows["ours"]), "note": note, "llm_start_s": llm_start_s},
            _answer_stats(rows["defaults"]))

