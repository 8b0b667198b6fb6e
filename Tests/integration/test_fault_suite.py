"""The fault and bad-input suite (scripts/fault_suite.py --quick) passes and reports every case.

The suite starts its own peers (moto_server, one osmem-server per case) on 127.0.0.1 and prints a
table: case | exit codes seen | message | expected | indexed | quarantined (reason) | duplicates |
lost | verdict. It exits non-zero when any case fails its check; the failed cases' details
(command, exit code, output) follow the table and are shown here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support import REPO

SUITE = REPO / "scripts" / "fault_suite.py"
BUDGET_S = 240          # --quick must stay under 4 minutes
HARD_TIMEOUT_S = 420    # kill it (and fail) well after that


def _case_names() -> list:
    p = subprocess.run([sys.executable, str(SUITE), "--list"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    names = [ln.split("\t", 1)[0] for ln in p.stdout.splitlines() if ln.strip()]
    assert names, "fault_suite.py --list printed no case"
    return names


def test_fault_suite_quick(binaries, tmp_path):
    names = _case_names()
    out_json = tmp_path / "fault-suite.json"
    env = dict(os.environ, CLOUDSPOOL_BIN_DIR=str(binaries))
    try:
        p = subprocess.run([sys.executable, str(SUITE), "--quick", "--json", str(out_json)], capture_output=True,
                           text=True, timeout=HARD_TIMEOUT_S, env=env, stdin=subprocess.DEVNULL, cwd=str(REPO))
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"fault_suite.py --quick did not finish within {HARD_TIMEOUT_S} s\n"
                    f"{(e.stdout or b'')[-8000:]!r}\n{(e.stderr or b'')[-4000:]!r}", pytrace=False)
    report = p.stdout + "\n--- stderr ---\n" + p.stderr[-6000:]
    print(p.stdout)

    # the table: a header, a separator, one row per case
    lines = p.stdout.splitlines()
    header = next((ln for ln in lines if ln.startswith("| case ")), None)
    assert header is not None, f"no table in the output\n{report}"
    for col in ("exit codes seen", "message", "expected", "indexed", "quarantined (reason)", "duplicates", "lost",
                "verdict"):
        assert col in header, f"the table has no column {col!r}: {header}"
    rows = {ln.split("|")[1].strip(): ln for ln in lines if ln.startswith("| ") and not ln.startswith("| case ")}
    missing = [n for n in names if n not in rows]
    assert not missing, f"cases missing from the table: {missing}\n{report}"
    for n in names:
        verdict = rows[n].rstrip(" |").rsplit("|", 1)[-1].strip()
        assert verdict in ("PASS", "FAIL", "SKIP"), f"row of {n} has no verdict: {rows[n]}"

    assert out_json.is_file(), f"no --json output\n{report}"
    data = json.loads(out_json.read_text())
    assert [c["case"] for c in data["cases"]] == names
    failed = [c for c in data["cases"] if c["verdict"] == "FAIL"]
    for c in data["cases"]:
        if c["verdict"] == "PASS":
            assert c["duplicates"] in (0, None) and c["lost"] in (0, None), c
    assert p.returncode == 0 and not failed, (
        f"fault_suite.py --quick exited {p.returncode}; failed cases: {[c['case'] for c in failed]}\n{report}")
    assert data["seconds"] < BUDGET_S, f"the quick suite took {data['seconds']} s (budget {BUDGET_S} s)"
