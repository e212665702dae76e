"""Feedback closes the loop: every thumbs-down becomes a candidate gold line for the eval, and
`feedback stats` counts votes by reason and answer mode per day.

A candidate line is in the gold JSONL format of evals/README.md (question, history, "answerable",
"tags": ["feedback"], an id) with the relevance fields left empty ("relevant": [], "answer_any": [],
"reference": "") for a person to fill in, plus what was said (answer, citations, reason, comment).
Once filled in, ``python -m assistant eval --gold FILE`` reads it; unknown keys are ignored there.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from assistant.conversations.database import database_url
from assistant.conversations.models import FeedbackRow, MessageRow
from assistant.conversations.records import REASONS
from assistant.conversations.store import ConversationStore

if TYPE_CHECKING:
    from assistant.config import Settings

HISTORY_TURNS = 6  # earlier exchanges kept in a candidate's history (what a follow-up is rewritten from)
TAG = "feedback"
_CITATION_KEYS = ("number", "entry_id", "title", "section", "quote")


def jsonl(value: Any) -> str:
    """One JSON line: the line separators Python's splitlines() breaks on are escaped as well."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\u0085", "\\u0085")


def gold_id(message_id: str) -> str:
    """A stable id per answer, so exporting again adds only new candidates."""
    return "fb-" + message_id.replace("-", "")[:12]


def candidates(store: ConversationStore) -> list[dict[str, Any]]:
    """A candidate gold line for every thumbs-down, oldest vote first (all owners: this is an operator's report)."""
    lines = []
    with store.session() as s:
        rows = s.execute(select(FeedbackRow, MessageRow).join(MessageRow, FeedbackRow.message_id == MessageRow.id)
                         .where(FeedbackRow.vote == "down").order_by(FeedbackRow.created_at, FeedbackRow.id)).all()
        for vote, answer in rows:
            earlier = s.execute(select(MessageRow.role, MessageRow.text)
                                .where(MessageRow.conversation_id == answer.conversation_id,
                                       MessageRow.position < answer.position)
                                .order_by(MessageRow.position)).all()
            if not earlier or earlier[-1][0] != "user":
                continue
            history = [(str(role), str(text)) for role, text in earlier[:-1]][-2 * HISTORY_TURNS:]
            lines.append(gold_line(vote, answer, str(earlier[-1][1]), history))
    return lines


def gold_line(vote: FeedbackRow, answer: MessageRow, question: str, history: list[tuple[str, str]]) -> dict[str, Any]:
    """The candidate: gold fields first (relevance empty), then what the assistant said and why it was wrong."""
    line: dict[str, Any] = {
        "id": gold_id(answer.id), "question": question,
        "answerable": vote.reason != "should_refuse",  # a guess from the reason: check it
        "relevant": [], "answer_any": [], "reference": "", "tags": [TAG]}
    if history:
        line["history"] = [[role, text] for role, text in history]
    line.update({
        "answer": answer.text, "mode": answer.mode or "", "query": answer.query or "",
        "citations": [{k: c.get(k, "") for k in _CITATION_KEYS} for c in answer.citations or [] if isinstance(c, dict)],
        "reason": vote.reason or "", "comment": vote.text,
        "feedback": {"message": answer.id, "conversation": answer.conversation_id, "voted_at": vote.created_at.isoformat()},
    })
    return line


def export_gold(store: ConversationStore, path: Path) -> tuple[int, int]:
    """Add the candidates not yet in `path` (by id) to it, keeping every line already there (a person's
    edits survive a second export). Returns (added, already there)."""
    lines = candidates(store)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    ids = set()
    for raw in existing.splitlines():
        try:
            ids.add(json.loads(raw).get("id"))
        except (ValueError, AttributeError):
            continue
    new = [line for line in lines if line["id"] not in ids]
    if new:
        text = existing + ("\n" if existing and not existing.endswith("\n") else "") + "".join(jsonl(x) + "\n" for x in new)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)  # never a half-written gold file
    return len(new), len(lines) - len(new)


def stats(store: ConversationStore, days: int = 30) -> dict[str, Any]:
    """Votes per (day, answer mode): up, down, and the downs by reason; `days` back (0: all)."""
    query = select(FeedbackRow.created_at, FeedbackRow.vote, FeedbackRow.reason, MessageRow.mode).join(
        MessageRow, FeedbackRow.message_id == MessageRow.id)
    if days > 0:
        query = query.where(FeedbackRow.created_at >= datetime.now(UTC) - timedelta(days=days))
    with store.session() as s:
        rows = s.execute(query).all()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for created, vote, reason, mode in rows:
        key = (created.astimezone(UTC).date().isoformat(), mode or "")
        group = groups.setdefault(key, {"day": key[0], "mode": key[1], "up": 0, "down": 0, "reasons": Counter()})
        group[vote] += 1
        if vote == "down":
            group["reasons"][reason or "none"] += 1
    out = [{**g, "reasons": dict(g["reasons"])} for _, g in sorted(groups.items())]
    totals: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for g in out:
        totals.update({"up": g["up"], "down": g["down"]})
        reasons.update(g["reasons"])
    return {"days": days, "rows": out, "totals": {"up": totals["up"], "down": totals["down"], "reasons": dict(reasons)}}


def print_stats(report: dict[str, Any]) -> None:
    """The report as a table (rich): one row per day and answer mode."""
    from rich.console import Console
    from rich.table import Table

    span = f"the last {report['days']} days" if report["days"] else "all time"
    if not report["rows"]:
        print(f"No feedback in {span}.")
        return
    reasons = [*REASONS, "none"]
    table = Table(title=f"Feedback per day and answer mode ({span}; down-votes split by reason)")
    for name in ("day", "mode", "up", "down", *(REASONS.get(r, "no reason") for r in reasons)):
        table.add_column(name, justify="left" if name in ("day", "mode") else "right", no_wrap=True)
    for g in report["rows"]:
        table.add_row(g["day"], g["mode"], str(g["up"]), str(g["down"]), *(str(g["reasons"].get(r, 0)) for r in reasons))
    t = report["totals"]
    table.add_row("total", "", str(t["up"]), str(t["down"]), *(str(t["reasons"].get(r, 0)) for r in reasons), style="bold")
    Console(width=max(160, Console().width)).print(table)


def main(args: argparse.Namespace, settings: Settings) -> int:
    """`python -m assistant feedback {export --gold FILE, stats}`."""
    url = database_url(settings)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        print("No feedback yet: the conversation database does not exist until a chat is stored.")
        return 0
    with ConversationStore.from_settings(settings) as store:
        if args.feedback_command == "export":
            path = Path(args.gold)
            added, kept = export_gold(store, path)
            if not added and not kept:
                print("No thumbs-down feedback yet; nothing written.")
                return 0
            print(f"{added} new candidate gold line(s) added to {path} ({kept} already there). For each, fill in "
                  '"relevant" (entry and verbatim quote), "answer_any" and "reference", check "answerable", '
                  f"then run: python -m assistant eval --gold {path}")
            return 0
        report = stats(store, args.days)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_stats(report)
    return 0
