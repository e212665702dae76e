"""The test run itself: a run stopped by a signal leaves no server of its own behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from assistant.config import PROJECT_DIR
from tests.conftest import wait_until

HOLDS_A_CLUSTER = '''
import json, os, time

def test_holds_the_cluster(postgres_cluster):
    ready = os.environ["READY_FILE"]
    with open(ready + ".tmp", "w") as f:
        json.dump({"pids": postgres_cluster.pids(), "dir": str(postgres_cluster.dir)}, f)
    os.replace(ready + ".tmp", ready)
    time.sleep(300)
'''


def test_sigterm_to_a_test_run_stops_the_postgres_it_started(tmp_path):
    """PostgreSQL runs in a session of its own, so no group signal reaches it: the run must stop it."""
    (tmp_path / "test_holder.py").write_text(HOLDS_A_CLUSTER)
    ready = tmp_path / "ready.json"
    run = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                            str(tmp_path / "test_holder.py")],
                           cwd=PROJECT_DIR, env={**os.environ, "READY_FILE": str(ready)},
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: ready.exists() or run.poll() is not None, 120) and ready.exists(), \
            run.communicate(timeout=30)[0] if run.poll() is not None else "the inner run did not start its cluster"
        cluster = json.loads(ready.read_text())
        assert cluster["pids"]
        run.send_signal(signal.SIGTERM)
        out = run.communicate(timeout=60)[0]
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    left = [pid for pid in cluster["pids"] if alive(pid)]
    for pid in left:  # a failing run still leaves nothing behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if left:
        shutil.rmtree(cluster["dir"], ignore_errors=True)
    assert not left and not Path(cluster["dir"]).exists(), out
    assert "KeyboardInterrupt" in out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False
