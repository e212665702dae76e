"""Run a Python module or script as a child process that dies with its parent.

    python -m assistant.childguard PARENT_PID -m llama_cpp.server --model ...
    python -m assistant.childguard PARENT_PID path/to/script.py ...

A watchdog thread polls the parent's pid; when the parent is gone (it exited without stopping
us, or was killed with SIGKILL, which no handler in the parent can see) the child exits at once.
This is what keeps a llama.cpp server from outliving the app that started it; the parent also
stops it explicitly (``close()``, an atexit hook, SIGTERM/SIGINT handlers).
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time

POLL_SECONDS = 0.5


def _watch(parent: int) -> None:
    while True:
        if os.getppid() != parent:  # re-parented: the process that started us is gone
            os._exit(0)
        time.sleep(POLL_SECONDS)


def main(argv: list[str]) -> None:
    if len(argv) < 2 or not argv[0].isdigit():
        sys.exit("usage: python -m assistant.childguard PARENT_PID (-m MODULE | SCRIPT) [ARGS...]")
    parent, rest = int(argv[0]), argv[1:]
    if os.getppid() != parent:
        sys.exit(0)  # the parent died before we started
    threading.Thread(target=_watch, args=(parent,), name="childguard", daemon=True).start()
    if rest[0] == "-m":
        sys.argv = [rest[1], *rest[2:]]
        runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(rest)
        runpy.run_path(rest[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
