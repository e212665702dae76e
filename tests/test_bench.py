"""The benchmark's pure parts: statistics, targets, the report writer, server-log matching, and the synthetic corpus
builder."""

from __future__ import annotations

import json

import pytest

from assistant.evaluation import bench
from tests.conftest import KNOWLEDGE, make_settings, open_assistant


def test_percentile_interpolates_like_numpy():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert bench.percentile(values, 50) == 3.0
    assert bench.percentile(values, 95) == pytest.approx(4.8)
    assert bench.percentile(values, 0) == 1.0 and bench.percentile(values, 100) == 5.0
    assert bench.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        bench.percentile([], 50)


def test_summarize_and_fit_exponent():
    stats = bench.summarize([0.1, 0.2, 0.3])
    assert stats["n"] == 3 and stats["p50"] == pytest.approx(0.2) and stats["max"] == 0.3
    assert bench.fit_exponent([10, 100, 1000], [1, 100, 10000]) == pytest.approx(2.0)
    assert bench.fit_exponent([10], [1]) is None


def _tiny_result() -> dict:
    latency = {"n": 50, "p50": 0.02, "p95": 0.05, "mean": 0.03, "min": 0.01, "max": 0.06}
    corpus = {"chunks": 206, "real": 206, "synthetic": 0, "build_s": 0.5, "snapshot_load_s": 0.1, "bm25_build_s": 0.2,
              "open_s": 0.3, "rss_mb_after_open": 900.0, "latency": latency}
    answers = {"questions": 2, "ttft": {**latency, "p50": 0.8, "p95": 2.0}, "total": {**latency, "p50": 3.0, "p95": 4.0},
               "prompt_tokens": {**latency, "mean": 700.0, "max": 900.0}, "rows": []}
    return {
        "command": "python -m assistant bench --quick --out x", "date": "2025-01-01T00:00:00+00:00", "mode": "quick",
        "seconds": 12.0, "load_by_stage": {"ingest": 0.5},
        "machine": {"nproc": 2, "cpus_usable": 2, "cpu_model": "Test CPU", "ram_gb": 4.0, "python": "3.11",
                    "versions": {"x": "1"}, "loadavg_start": [0.1, 0.2, 0.3], "loadavg_end": [0.1, 0.2, 0.3]},
        "ingest": {"chunks": 206, "texts_embedded": 206, "batch": 64, "embedded_chars": 40000, "ingest_s": 10.0, "raw_s": 9.5,
                   "chunks_per_s": 20.6, "raw_chunks_per_s": 21.7, "ratio": 0.95, "reingest_s": 0.8, "reingest_fraction": 0.08,
                   "reps": [{"ingest_s": 10.0, "raw_s": 9.5, "ratio": 0.95, "reingest_s": 0.8, "chunks": 206}],
                   "profile": {"total_s": 11.0, "steps_s": {"embedding": 9.0, "Chroma upsert": 1.0}}},
        "retrieval": {"corpora": [corpus, {**corpus, "chunks": 1000, "synthetic": 794, "latency": {**latency, "p50": 0.03}}],
                      "queries": 50, "warmup": 5, "top_k": 5, "exponent_p50": 0.26, "exponent_p95": 0.0, "exponent_open": 1.0},
        "answers": {"ours": answers, "note": "two questions"},
        "baseline": {"chunks": 30, "ingest_s": 5.0, "chunks_per_s": 6.0, "embedded_chars": 60000, "latency": latency,
                     "answers": answers, "note": "defaults"},
        "app": {"cold": {"start_s": 20.0, "peak_rss_ui_mb": 800.0, "peak_rss_tree_mb": 1400.0},
                "warm": {"error": "UI did not answer"}, "note": "app"},
        "growth": {"points": [{"chunks": 206, "ingest_s": 10.0, "chunks_per_s": 20.6}], "chunks_per_s": 20.6,
                   "exponent": None, "note": "extrapolated"},
    }


def test_report_writer_marks_targets_and_writes_files(tmp_path):
    result = _tiny_result()
    images = bench.write_report(result, tmp_path)
    verdicts = {t["key"]: t["met"] for t in result["targets"]}
    assert verdicts == {"ingest.ratio": True, "ingest.reingest_fraction": False, "answers.ours.ttft.p50": True,
                        "answers.ours.ttft.p95": False, "api.latency.added_p50_ms": None, "app.cold.peak_rss_tree_mb": True}
    assert set(images) == {"retrieval_latency.png", "corpus_load.png", "ingest_growth.png"}
    assert all((tmp_path / name).stat().st_size > 1000 for name in images)
    text = (tmp_path / "bench.md").read_text()
    assert "`python -m assistant bench --quick --out x`" in text and "Test CPU" in text
    assert "| re-ingest of unchanged material ÷ full ingest time | 0.080 | <= 0.05 | not met |" in text
    assert "| peak RSS, UI + LLM server (MB) | 1,400 | <= 1500 | met |" in text
    assert "UI did not answer" in text and "![retrieval_latency.png](retrieval_latency.png)" in text
    assert json.loads((tmp_path / "bench.json").read_text())["targets"][0]["met"] is True


def test_server_records_read_the_llama_cpp_log():
    log = """INFO:     127.0.0.1:1 - "POST /v1/chat/completions HTTP/1.1" 200 OK
llama_perf_context_print: prompt eval time =     812.50 ms /   542 tokens (    1.50 ms per token,   667.08 tokens per second)
llama_perf_context_print:        eval time =    1200.00 ms /    40 runs   (   30.00 ms per token,    33.33 tokens per second)
Llama.generate: 120 prefix-match hit, remaining 221 prompt tokens to eval
llama_perf_context_print: prompt eval time =     300.00 ms /   221 tokens (    1.36 ms per token,   736.67 tokens per second)
"""
    assert bench.server_records(log) == [
        {"prefix_hit": 0, "prompt_eval_tokens": 542, "prompt_eval_ms": 812.5, "decode_tokens": 40, "decode_ms": 1200.0},
        {"prefix_hit": 120, "prompt_eval_tokens": 221, "prompt_eval_ms": 300.0}]



def test_server_records_go_to_requests_in_order_across_blocks():
    def rec(prefix: int, tokens: int, ms: float) -> dict:
        return {"prefix_hit": prefix, "prompt_eval_tokens": tokens, "prompt_eval_ms": ms}

    # ours' warm-up, ours (one call, then two calls), the defaults' warm-up, defaults (one call each)
    requests = [{"ttft_s": 2.0, "llm_calls": 1}, {"ttft_s": 0.5, "llm_calls": 1}, {"ttft_s": 0.9, "llm_calls": 2},
                {"ttft_s": 3.0, "llm_calls": 1}, {"ttft_s": 0.7, "llm_calls": 1}, {"ttft_s": None, "llm_calls": 1}]
    records = [rec(0, 600, 900.0), rec(400, 150, 200.0), rec(400, 100, 150.0), rec(10, 50, 60.0),
               rec(0, 700, 1000.0), rec(500, 180, 250.0), rec(500, 90, 120.0)]
    assert bench.assign_server_records(requests, records)
    warm_ours, first, second, warm_defaults, third, fourth = requests
    assert (first["prefix_hit"], first["prompt_eval_tokens"]) == (400, 150)
    assert first["ttft_minus_prompt_eval_s"] == pytest.approx(0.3)
    assert (second["prefix_hit"], second["prompt_eval_tokens"], second["prompt_eval_ms"]) == (410, 150, 210.0)
    assert "ttft_minus_prompt_eval_s" not in second  # two LLM calls: TTFT is not one prompt eval away
    assert warm_defaults["prompt_eval_tokens"] == 700 and third["prefix_hit"] == 500
    assert third["ttft_minus_prompt_eval_s"] == pytest.approx(0.45)
    assert fourth["prompt_eval_ms"] == 120.0 and "ttft_minus_prompt_eval_s" not in fourth  # timed out before a token
    unmatched = [{"ttft_s": 1.0, "llm_calls": 1}, {"ttft_s": 1.0, "llm_calls": 1}]
    assert not bench.assign_server_records(unmatched, records[:1])
    assert unmatched == [{"ttft_s": 1.0, "llm_calls": 1}] * 2  # left as they were

def test_synthetic_nodes_look_like_document_chunks():
    sentences = bench.article_sentences(KNOWLEDGE / "source")
    nodes = bench.synthetic_nodes(sentences, [150, 300], 20, seed=3)
    assert len(nodes) == 20 and len({n.node_id for n in nodes}) == 20
    assert nodes[9].node_id == "syn-000001#1" and nodes[9].metadata["kind"] == "document"
    assert all(len(n.text) >= 150 and n.metadata["names"] == "" and n.metadata["content_hash"] for n in nodes)
    assert bench.synthetic_nodes(sentences, [150, 300], 20, seed=3)[5].text == nodes[5].text  # deterministic


@pytest.mark.slow
def test_corpus_builder_gives_a_working_retriever(indexed_dir, embed_model, tmp_path):
    from assistant.store import Store

    source_settings = make_settings(indexed_dir)
    source = Store(source_settings.chroma_path, "", source_settings.chroma_collection)
    settings = make_settings(tmp_path)
    info = bench.build_corpus(source, settings, 500, bench.article_sentences(KNOWLEDGE / "source"))
    assert info["chunks"] == 500 and info["synthetic"] == 500 - info["real"] > 0
    assistant = open_assistant(settings, embed_model)
    assert assistant.index_size == 500
    passages = assistant.retrieve("What is a variational autoencoder?")
    assert len(passages) == settings.top_k
    assert any("autoencoder" in p.text.lower() for p in passages)  # the real nodes are still found among synthetic ones
    latency = bench.time_queries({"ours": assistant.retrieve}, ["What is SDXL?", "Who created Whisper?"], warmup=1, label="t")
    assert latency["ours"]["n"] == 2 and latency["ours"]["p50"] > 0
