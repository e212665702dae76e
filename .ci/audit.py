"""S8: audit the locked dependencies for known advisories; exit 1 when any is found.

Step 1 is pip-audit over requirements.lock (PyPI's per-version advisory data). Versions it could
not resolve are then looked up in PyPI's project JSON, whose ``vulnerabilities`` list belongs to
the project's latest release: it applies exactly when the locked version is that release. What
neither source covers is listed as "not audited" (reported, not hidden, and not a failure: an
unreachable service is not an advisory).

Advisories with no fixed release that do not apply to how this project uses the package are
accepted in ``.ci/audit-accepted.json`` (advisory id, package, and the reason it does not apply);
they are printed on every run, and an accepted id that no longer appears is reported as stale.

    python .ci/audit.py requirements.lock [--accepted .ci/audit-accepted.json] [--report test-output/audit.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


def read_pins(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version` line (extras and comments dropped)."""
    pins = {}
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name.split("[", 1)[0])] = version.strip()
    return pins


def canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def run_pip_audit(lock: Path) -> list[dict[str, Any]]:
    """pip-audit's JSON report of the lock (its `dependencies` list); [] if it produced none."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pip-audit.json"
        subprocess.run([sys.executable, "-m", "pip_audit", "-r", str(lock), "--no-deps", "--disable-pip",
                        "--progress-spinner", "off", "--format", "json", "--output", str(out)], check=False)
        if not out.is_file():
            return []
        return list(json.loads(out.read_text() or "{}").get("dependencies", []))


def split_report(dependencies: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
    """pip-audit's findings (one row per advisory) and the packages it could not audit."""
    findings, unresolved = [], set()
    for dep in dependencies:
        if "skip_reason" in dep:
            unresolved.add(canonical(dep["name"]))
            continue
        for vuln in dep.get("vulns", []):
            findings.append({"name": canonical(dep["name"]), "version": dep["version"], "id": vuln.get("id", "?"),
                             "aliases": vuln.get("aliases", []), "fix_versions": vuln.get("fix_versions", []),
                             "source": "pip-audit"})
    return findings, unresolved


def fetch_json(url: str, timeout: float = 15.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - https or the test's loopback
            return json.loads(response.read())
    except (urllib.error.URLError, TimeoutError, ValueError, OSError):
        return None


def audit_latest(pins: dict[str, str], names: set[str], pypi: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Advisories from PyPI's project JSON for locked versions that are the latest release;
    returns (findings, names that could not be audited this way)."""
    findings, not_audited = [], []
    for name in sorted(names):
        data = fetch_json(f"{pypi.rstrip('/')}/pypi/{name}/json")
        if data is None or data.get("info", {}).get("version") != pins.get(name):
            not_audited.append(name)
            continue
        for vuln in data.get("vulnerabilities") or []:
            if not vuln.get("withdrawn"):
                findings.append({"name": name, "version": pins[name], "id": vuln.get("id", "?"),
                                 "aliases": vuln.get("aliases") or [], "fix_versions": vuln.get("fixed_in") or [],
                                 "source": "pypi project json"})
    return findings, not_audited


def load_accepted(path: Path | None) -> dict[tuple[str, str], str]:
    """(package, advisory id) -> reason; every entry must say why the advisory does not apply."""
    if path is None or not path.is_file():
        return {}
    accepted = {}
    for entry in json.loads(path.read_text()):
        if not str(entry.get("reason", "")).strip() or not entry.get("id") or not entry.get("package"):
            raise SystemExit(f"audit: {path}: every accepted advisory needs 'id', 'package' and 'reason' ({entry}).")
        accepted[(canonical(entry["package"]), entry["id"])] = entry["reason"]
    return accepted


def split_accepted(findings: list[dict[str, Any]], accepted: dict[tuple[str, str], str]
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str]]]:
    """(open findings, accepted findings with their reason, accepted entries that matched nothing).
    A finding is accepted when its id or one of its aliases is accepted for its package."""
    open_, taken, used = [], [], set()
    for f in findings:
        keys = [(f["name"], i) for i in [f["id"], *f.get("aliases", [])]]
        match = next((k for k in keys if k in accepted), None)
        if match is None:
            open_.append(f)
        else:
            used.add(match)
            taken.append({**f, "reason": accepted[match]})
    return open_, taken, sorted(set(accepted) - used)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lock", type=Path)
    parser.add_argument("--pypi", default="https://pypi.org", help="PyPI base URL for the project-JSON step")
    parser.add_argument("--skip-pip-audit", action="store_true", help="only the project-JSON step (tests)")
    parser.add_argument("--accepted", type=Path, default=Path(__file__).with_name("audit-accepted.json"),
                        help="advisories accepted with a reason (JSON list of {id, package, reason})")
    parser.add_argument("--report", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)

    pins = read_pins(args.lock)
    dependencies = [] if args.skip_pip_audit else run_pip_audit(args.lock)
    findings, unresolved = split_report(dependencies)
    unresolved |= set(pins) - {canonical(d["name"]) for d in dependencies}
    more, not_audited = audit_latest(pins, unresolved, args.pypi)
    findings, taken, stale = split_accepted(findings + more, load_accepted(args.accepted))
    audited = len(pins) - len(not_audited)
    result = {"pinned": len(pins), "audited": audited, "by_pip_audit": len(pins) - len(unresolved),
              "by_project_json": len(unresolved) - len(not_audited), "not_audited": not_audited, "findings": findings,
              "accepted": taken, "stale_accepted": [list(k) for k in stale]}
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(result, indent=2))
    print(f"audit: {audited} of {len(pins)} locked packages audited ({result['by_pip_audit']} by pip-audit, "
          f"{result['by_project_json']} by PyPI's project JSON as their latest release).")
    if not_audited:
        print(f"audit: not audited (no advisory data reachable for the locked version): {', '.join(not_audited)}")
    for f in taken:
        print(f"audit: accepted {f['id']} in {f['name']}=={f['version']}: {f['reason']}")
    for package, advisory in stale:
        print(f"audit: stale acceptance {advisory} for {package}: it no longer matches; remove it from {args.accepted}.")
    for f in findings:
        fix = ", ".join(f["fix_versions"]) or "none listed"
        print(f"audit: ADVISORY {f['id']} in {f['name']}=={f['version']} (fixed in: {fix}; via {f['source']})")
    if findings:
        print("audit: known advisories found: upgrade the packages above in requirements.lock.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
