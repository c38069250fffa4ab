"""The README's contract: `make demo` runs the whole job, `make test` runs every test.

The demo path is exercised through the same CLI command `make demo` calls, on a small warehouse
and with every output in a temporary folder (so a developer's own demo data is never touched).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("iapt-idb")


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block


def test_make_targets_call_the_cli_and_pytest() -> None:
    demo = subprocess.run(["make", "-n", "demo"], cwd=ROOT, text=True, capture_output=True, check=True).stdout
    assert re.search(r"iapt-idb demo --period \S+", demo), demo
    test = subprocess.run(["make", "-n", "test"], cwd=ROOT, text=True, capture_output=True, check=True).stdout
    assert ".venv/bin/pytest" in test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_cli_help_lists_every_command() -> None:
    out = subprocess.run([str(CLI), "--help"], text=True, capture_output=True, check=True).stdout
    for name in ("generate", "build", "validate", "export", "structure", "measures", "docs", "demo"):
        assert re.search(rf"^\s+{name}\s", out, re.M), f"{name} missing from iapt-idb --help"


@pytest.mark.slow
@pytest.mark.java
def test_demo_end_to_end(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
        DBT_PROFILES_DIR=str(ROOT),
    )
    out = tmp_path / "out"
    cmd = [
        str(CLI), "demo", "--period", "2026-10", "--patients", "250", "--seed", "11",
        "--defect-rate", "0.02", "--out", str(out),
        "--warehouse", str(tmp_path / "wh.duckdb"), "--target-db", str(tmp_path / "idb.duckdb"),
        "--created-at", "2026-11-05T09:00:00",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    idb = out / "IAPT_IDB_2026-10.accdb"
    assert idb.exists() and idb.stat().st_size > 100_000
    summary = json.loads((out / "validation" / "summary.json").read_text())
    assert summary.get("period") == "2026-10"
    assert (out / "validation" / "validation_report.csv").exists()
    assert (out / "site" / "index.html").exists()
    # The demo names what it produced and the predicted outcome.
    assert "predicted outcome" in proc.stdout and str(idb) in proc.stdout
    # The headline measures it prints are derived from the warehouse history, not a one-month preview.
    assert "Derived from the provider's whole history" in proc.stdout and "Preview" not in proc.stdout
    # The month's marts hold the period's header row with the fixed creation timestamp.
    with duckdb.connect(str(tmp_path / "idb.duckdb"), read_only=True) as con:
        header = con.execute(
            'select ReportingPeriodStartDate, DateTimeDatSetCreate from main."IDS000Header"'
        ).fetchall()
    assert [(str(a), str(b)) for a, b in header] == [("2026-10-01", "2026-11-05 09:00:00")]
    # One parse of the project serves the build, its validation plans and the docs: the ODS codes and the input
    # schema reach dbt in the environment, so no run differs from the build in --vars, and validate finds the
    # plans the build compiled for its code. Only the build (a new target path) and the first compile of the
    # scratch DB's plan (its own folder; cached for the session) may parse the whole project.
    log = "".join(f.read_text(encoding="utf-8") for f in sorted((tmp_path / "logs").glob("dbt.log*")))
    runs = log.split("Running with dbt=")[1:]
    whole = [r for r in runs if "Unable to do partial parsing" in r]
    assert len(runs) <= 4 and len(whole) <= 2, [r[r.find("'invocation_command'"):][:120] for r in runs]
    # No patient identifiers in what the demo printed.
    with duckdb.connect(str(tmp_path / "idb.duckdb"), read_only=True) as con:
        nhs = [r[0] for r in con.execute('select NHSNumber from main."IDS001MPI" where NHSNumber is not null').fetchall()]
    printed = proc.stdout + proc.stderr
    assert nhs and not [n for n in nhs if n in printed]
