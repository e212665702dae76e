"""Command line: python -m assistant {ingest,retrieve,ask,chat,serve-llm,ui,serve,mcp,doctor,feedback,eval,bench}."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.prompts import EXTRACTIVE_NOTICE


def _assistant(settings: Settings, rebuild: bool = False):
    from assistant.api import Assistant

    return Assistant.from_settings(settings, rebuild=rebuild)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.files import safe_name

    if args.drop_missing and not args.rebuild:
        print("error: --drop-missing only applies to --rebuild; add --rebuild or leave it out.", file=sys.stderr)
        return 2
    try:
        with _assistant(settings, rebuild=args.rebuild) as assistant:
            report = assistant.ingest([Path(p) for p in args.paths], knowledge=not args.no_knowledge, rebuild=args.rebuild,
                                      progress=True, drop_missing=args.drop_missing)
    except AssistantError as exc:  # messages may name files: never let a name's escape sequences reach the terminal
        print(f"error: {safe_name(str(exc))}", file=sys.stderr)
        return 1
    print(report.summary())
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 1 if report.skipped else 0


def cmd_retrieve(args: argparse.Namespace, settings: Settings) -> int:
    passages = _assistant(settings).retrieve(args.question, k=args.k)
    if args.json:
        print(json.dumps([p.to_dict() for p in passages], ensure_ascii=False, indent=2))
    else:
        for i, p in enumerate(passages, 1):
            print(f"[{i}] {p.title} ({p.kind}, score {p.score:.3f})\n    {' '.join(p.text.split())[:200]}")
    return 0


def _print_answer(answer, as_json: bool) -> None:
    """The answer and its citations on stdout; its notice (e.g. the LLM was down) on stderr."""
    if answer.notice:
        print(f"note: {answer.notice}", file=sys.stderr)
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    print(answer.text)
    if answer.mode == "extractive":
        print(f"\n({EXTRACTIVE_NOTICE}.)")
    for c in answer.citations:
        print(f"  [{c.number}] {c.title}: “{c.quote}”")


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    with _assistant(settings) as assistant:
        _print_answer(assistant.ask(args.question), args.json)
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.types import Answer

    history: list[tuple[str, str]] = []
    with _assistant(settings) as assistant:
        print("Ask about generative AI (empty line or Ctrl-D to quit).")
        while True:
            try:
                question = input("\nyou> ").strip()
            except EOFError:
                break
            if not question:
                break
            try:
                final = None
                print("assistant> ", end="", flush=True)
                for event in assistant.stream(question, history):
                    if isinstance(event, Answer):
                        final = event
                    else:
                        print(event, end="", flush=True)
                print("\n--- verified answer ---")
                assert final is not None, "Assistant.stream always ends with the Answer"
                _print_answer(final, False)
                if final.query != question:
                    print(f"  (searched for: {final.query})")
                history += [("user", question), ("assistant", final.text)]
            except AssistantError as exc:
                print(f"\nerror: {exc}")
    return 0


def cmd_serve_llm(args: argparse.Namespace, settings: Settings) -> int:
    import signal

    from assistant.llm import LocalLLMServer

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # Installed before start(): a SIGTERM while the model loads must still stop the server.
    signal.signal(signal.SIGTERM, interrupt)
    server = LocalLLMServer(settings)
    try:
        server.start()
        print(f"Local LLM ({Path(server.model_path).name}) serving at {server.url}; Ctrl-C to stop.", flush=True)
        assert server.process is not None
        server.process.wait()
        return 1  # the server exited by itself
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.doctor import main as doctor_main

    return doctor_main(settings)


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    """The web UI: the same server as `serve` (the UI at /, with the APIs and MCP beside it)."""
    from assistant.server.app import serve

    return serve(settings)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.server.app import serve

    return serve(settings)


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.server.mcp_server import run_stdio

    return run_stdio(settings)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.evaluation.run import main as eval_main

    return eval_main(args, settings)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.evaluation.bench import main as bench_main

    return bench_main(args, settings)


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.conversations.feedback import main as feedback_main

    return feedback_main(args, settings)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m assistant", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("ingest", help="index knowledge/ and optional files (.md .txt .html .pdf)")
    s.add_argument("paths", nargs="*", help="files or folders to index besides knowledge/")
    s.add_argument("--rebuild", action="store_true",
                   help="build the index anew (beside the old one) from every source it holds plus the given paths")
    s.add_argument("--drop-missing", action="store_true",
                   help="let --rebuild drop recorded sources that can no longer be read (it refuses otherwise)")
    s.add_argument("--no-knowledge", action="store_true", help="index only the given paths")
    s.set_defaults(func=cmd_ingest)
    s = sub.add_parser("retrieve", help="show the passages retrieved for a question")
    s.add_argument("question")
    s.add_argument("-k", type=int, default=None, help="number of passages")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_retrieve)
    s = sub.add_parser("ask", help="answer a question with verified citations")
    s.add_argument("question")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ask)
    s = sub.add_parser("chat", help="chat in the terminal (streaming, follow-ups)")
    s.set_defaults(func=cmd_chat)
    s = sub.add_parser("serve-llm", help="serve the local GGUF model with llama.cpp's OpenAI-compatible server")
    s.set_defaults(func=cmd_serve_llm)
    s = sub.add_parser("ui", help="run the web UI (the same server as `serve`)")
    s.set_defaults(func=cmd_ui)
    s = sub.add_parser("serve", help="serve the UI, an OpenAI-compatible API (/v1), REST (/api) and MCP (/mcp) "
                                     "on UI_HOST:UI_PORT")
    s.set_defaults(func=cmd_serve)
    s = sub.add_parser("mcp", help="serve the MCP tools (ask, search, get_entry, list_models) over stdio")
    s.set_defaults(func=cmd_mcp)
    s = sub.add_parser("doctor", help="check what the assistant needs: packages, index, Chroma, LLM, Chromium")
    s.set_defaults(func=cmd_doctor)
    s = sub.add_parser("eval", help="score retrieval, answers, citations and refusal on the gold set")
    s.add_argument("--split", choices=["dev", "test", "all"], default="test",
                   help="gold split: dev (tune here), test (held out; report and gate only) or all")
    s.add_argument("--gold", action="append", default=[], metavar="FILE",
                   help="extra gold JSONL file added to the split (repeatable)")
    s.add_argument("--pipeline", default="ours,llamaindex-default,bm25", help="comma-separated pipelines")
    s.add_argument("--baseline-answers", type=int, default=20, metavar="N",
                   help="also answer a stratified sample of N single questions per split with the LlamaIndex "
                        "defaults (slow with the bundled model; 0 skips)")
    s.add_argument("--judge", default="", help="OpenAI-compatible URL of a judge LLM (tier 2)")
    s.add_argument("--limit", type=int, default=0,
                   help="only the first N single questions and N conversations of each split")
    s.add_argument("--no-answers", action="store_true", help="skip answer generation (retrieval, refusal, condensation)")
    s.add_argument("--out", default="evals/results", help="report folder")
    s.add_argument("--gate", action="store_true", help="exit 1 when a metric misses its threshold")
    s.add_argument("--thresholds", default="", help="thresholds JSON for --gate (default evals/thresholds.json)")
    s.set_defaults(func=cmd_eval)
    s = sub.add_parser("bench", help="measure latency, throughput and memory")
    s.add_argument("--out", default="evals/bench", help="report folder")
    s.add_argument("--quick", action="store_true", help="smaller corpora and fewer repetitions")
    s.set_defaults(func=cmd_bench)
    s = sub.add_parser("feedback", help="turn thumbs-down answers into candidate gold lines; count feedback")
    feedback = s.add_subparsers(dest="feedback_command", required=True)
    f = feedback.add_parser("export", help="add each thumbs-down answer to FILE as a candidate gold line (relevance to fill in)")
    f.add_argument("--gold", required=True, metavar="FILE", help="gold JSONL file to add to (lines already there are kept)")
    f = feedback.add_parser("stats", help="votes per day and answer mode, thumbs-down split by reason")
    f.add_argument("--days", type=int, default=30, help="days back to count (0: all)")
    f.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_feedback)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from pydantic import ValidationError

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        print(f"error: invalid setting ({problems}); fix it in .env or the environment (see .env.example).", file=sys.stderr)
        return 2
    try:
        return int(args.func(args, settings) or 0)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
