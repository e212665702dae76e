"""S8: the dependency audit runs in CI against fully pinned versions and fails on an advisory.

`make audit` (in `.ci/run`) runs `.ci/audit.py`: pip-audit over requirements.lock, then PyPI's
project JSON for versions pip-audit could not resolve. The advisory data itself comes from the
network, so the failing case is shown against a PyPI-shaped JSON server on loopback.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import PROJECT_DIR

spec = importlib.util.spec_from_file_location("ci_audit", PROJECT_DIR / ".ci" / "audit.py")
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)

# name -> (latest release, advisories of the latest release), as PyPI's /pypi/<name>/json serves them
FAKE_PYPI = {
    "safe-pkg": ("2.0", []),
    "bad-pkg": ("1.4", [{"id": "PYSEC-2099-1", "fixed_in": ["1.5"], "withdrawn": None}]),
    "retracted-pkg": ("3.0", [{"id": "PYSEC-2099-2", "fixed_in": ["3.1"], "withdrawn": "2099-01-01T00:00:00"}]),
}


@pytest.fixture
def pypi():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json" and parts[1] in FAKE_PYPI:
                latest, vulns = FAKE_PYPI[parts[1]]
                body = json.dumps({"info": {"version": latest}, "vulnerabilities": vulns}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_S8_audit_fails_on_a_known_advisory(pypi, tmp_path, capsys):
    lock = tmp_path / "requirements.lock"
    lock.write_text("safe-pkg==2.0\nBad_Pkg==1.4\nretracted-pkg==3.0\nold-pkg==0.1\n")
    report = tmp_path / "audit.json"
    assert audit.main([str(lock), "--skip-pip-audit", "--pypi", pypi, "--report", str(report)]) == 1
    out = capsys.readouterr().out
    assert "ADVISORY PYSEC-2099-1 in bad-pkg==1.4 (fixed in: 1.5" in out
    assert "PYSEC-2099-2" not in out  # withdrawn advisories do not fail the build
    result = json.loads(report.read_text())
    assert result["audited"] == 3 and result["not_audited"] == ["old-pkg"]


def test_S8_audit_passes_a_clean_lock_and_reports_what_it_could_not_audit(pypi, tmp_path, capsys):
    lock = tmp_path / "requirements.lock"
    lock.write_text("safe-pkg==2.0\nsafe-pkg-gone==1.0\n")
    assert audit.main([str(lock), "--skip-pip-audit", "--pypi", pypi]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 locked packages audited" in out and "not audited" in out and "safe-pkg-gone" in out


def test_S8_pip_audit_findings_and_skips_are_read_from_its_json():
    findings, unresolved = audit.split_report([
        {"name": "Jinja2", "version": "2.0", "vulns": [{"id": "GHSA-x", "fix_versions": ["3.1.6"]}]},
        {"name": "ok", "version": "1.0", "vulns": []},
        {"name": "torch", "version": "2.13.0+cpu", "skip_reason": "Dependency not found on PyPI"},
    ])
    assert [(f["name"], f["id"]) for f in findings] == [("jinja2", "GHSA-x")] and unresolved == {"torch"}


def test_S8_dependency_audit_runs_in_ci_against_pinned_lock():
    assert "make audit" in (PROJECT_DIR / ".ci" / "run").read_text()
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert ".ci/audit.py requirements.lock" in makefile
    lines = [ln for ln in (PROJECT_DIR / "requirements.lock").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(lines) > 50
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.+!-]+", ln) for ln in lines), [ln for ln in lines if "==" not in ln]
    names = {ln.split("==")[0].lower().replace("_", "-") for ln in lines}
    assert {"gradio", "chromadb", "llama-index-core", "llama-cpp-python", "torch"} <= names
    gradio = next(ln for ln in lines if ln.lower().startswith("gradio=="))
    assert tuple(int(x) for x in gradio.split("==")[1].split(".")[:2]) >= (6, 20)  # security fixes up to 6.20


def test_S8_accepted_advisories_need_a_reason_and_stale_ones_are_reported(pypi, tmp_path, capsys):
    lock = tmp_path / "requirements.lock"
    lock.write_text("bad-pkg==1.4\n")
    accepted = tmp_path / "accepted.json"
    accepted.write_text(json.dumps([{"id": "PYSEC-2099-1", "package": "Bad_Pkg", "reason": "not reachable here"},
                                    {"id": "GHSA-gone", "package": "safe-pkg", "reason": "fixed long ago"}]))
    assert audit.main([str(lock), "--skip-pip-audit", "--pypi", pypi, "--accepted", str(accepted)]) == 0
    out = capsys.readouterr().out
    assert "accepted PYSEC-2099-1 in bad-pkg==1.4: not reachable here" in out and "stale acceptance GHSA-gone" in out
    accepted.write_text(json.dumps([{"id": "PYSEC-2099-1", "package": "bad-pkg", "reason": " "}]))
    with pytest.raises(SystemExit, match="needs 'id', 'package' and 'reason'"):
        audit.main([str(lock), "--skip-pip-audit", "--pypi", pypi, "--accepted", str(accepted)])


def test_S8_project_accepted_advisories_each_give_a_reason():
    accepted = audit.load_accepted(PROJECT_DIR / ".ci" / "audit-accepted.json")
    pins = audit.read_pins(PROJECT_DIR / "requirements.lock")
    assert all(package in pins and len(reason) > 40 for (package, _), reason in accepted.items())
