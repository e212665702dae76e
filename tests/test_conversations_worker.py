"""A separate app process for the conversation store's multi-process tests (run with ``python -m``).

    python -m tests.test_conversations_worker append URL OWNER SHARED_ID N TAG  # N exchanges to SHARED_ID and to an own chat
    python -m tests.test_conversations_worker migrate URL OWNER                 # open a fresh database, create one chat
    python -m tests.test_conversations_worker hang URL OWNER ID K               # K exchanges, then stop inside the next commit
    python -m tests.test_conversations_worker start URL OWNER QUESTION          # a new chat with one exchange; prints its id
    python -m tests.test_conversations_worker continue URL OWNER ID QUESTION    # one more exchange; prints the history

Commands that race wait for "go" on stdin after printing READY, so both processes write at once.
No tests here; pytest collects the module and finds none.
"""

from __future__ import annotations

import json
import sys
import time

from assistant.conversations import ConversationStore
from assistant.types import Answer, Citation, Passage


def answer_to(question: str) -> Answer:
    """The answer the workers store: derived from the question, so a test can pair them up."""
    citation = Citation(number=1, entry_id="vae", title="Variational Autoencoders", quote="compressed, latent representation",
                        passage_text="A VAE encodes input data into a compressed, latent representation.", source="knowledge")
    passage = Passage(entry_id="vae", title="Variational Autoencoders", kind="glossary", score=0.8, source="knowledge",
                      text="A VAE encodes input data into a compressed, latent representation.")
    return Answer(text=f"answer to {question} [1]", citations=[citation], passages=[passage], query=question)


def _wait_for_go() -> None:
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected 'go' on stdin")


def main(argv: list[str]) -> int:
    command, url, owner, *rest = argv
    if command == "migrate":
        _wait_for_go()
        with ConversationStore.open(url, timeout=30) as store:
            print(store.create(owner, "raced").id, flush=True)
        return 0
    store = ConversationStore.open(url, timeout=30)
    try:
        if command == "append":
            shared, count, tag = rest[0], int(rest[1]), rest[2]
            own = store.create(owner, f"{tag}'s own chat")
            _wait_for_go()
            for i in range(count):
                for target in (shared, own.id):
                    question = f"{tag} question {i}"
                    store.append_exchange(owner, target, question, answer_to(question))
            print(own.id, flush=True)
        elif command == "hang":
            from sqlalchemy import event

            chat, done = rest[0], int(rest[1])
            for i in range(done):
                store.append_exchange(owner, chat, f"question {i}", answer_to(f"question {i}"))

            def stop_inside_commit(_conn: object) -> None:
                print("MID", flush=True)  # both messages are written, the transaction is not committed
                time.sleep(120)

            event.listen(store.engine, "commit", stop_inside_commit)
            store.append_exchange(owner, chat, "the question being answered", answer_to("the question being answered"))
            print("committed (the test should have killed this process)", flush=True)
        elif command == "start":
            chat = store.create(owner)
            store.append_exchange(owner, chat.id, rest[0], answer_to(rest[0]))
            print(chat.id, flush=True)
        elif command == "continue":
            chat_id, question = rest
            store.append_exchange(owner, chat_id, question, answer_to(question))
            print(json.dumps(store.history(owner, chat_id)), flush=True)
        else:
            raise SystemExit(f"unknown command {command!r}")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
