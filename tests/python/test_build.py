"""`iapt-idb build`, the generated dbt files and the SQL style of the dbt spine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import isolated_env, run_cli
from iapt_idb.paths import ROOT
from iapt_idb.spec import table_names

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)

PY = sys.executable


def test_generated_dbt_files_are_up_to_date() -> None:
    proc = subprocess.run([PY, "-m", "iapt_idb.dbtgen", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([PY, "-m", "iapt_idb.seeds", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_dbtgen_check_names_a_stale_file(tmp_path: Path) -> None:
    from iapt_idb import dbtgen

    files = dbtgen.generated_files(tmp_path)
    dbtgen.write_all(tmp_path)
    assert dbtgen.stale_files(tmp_path) == []
    victim = next(p for p in files if p.name == "_idb__models.yml")
    victim.write_text(victim.read_text() + "# hand edit\n")
    assert dbtgen.stale_files(tmp_path) == [victim]


def test_build_prints_rows_per_idb_table_and_the_scope_summary(built_marts) -> None:
    out = built_marts.summary
    for name in table_names():
        assert name in out
    assert "in_scope_open_in_period" in out
    assert "out_discharged_before_period_no_activity" in out


def test_build_refuses_a_missing_warehouse_and_a_bad_period(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    proc = run_cli(["build", "--period", "2026-10", "--warehouse", str(tmp_path / "nope.duckdb"),
                    "--target-db", str(tmp_path / "t.duckdb")], env)
    assert proc.returncode == 2
    assert "nope.duckdb does not exist" in proc.stderr and "iapt-idb generate" in proc.stderr
    proc = run_cli(["build", "--period", "2026-13", "--warehouse", str(tmp_path / "nope.duckdb")], env)
    assert proc.returncode == 2 and "YYYY-MM" in proc.stderr
    proc = run_cli(["build", "--period", "2026-10", "--warehouse", str(tmp_path / "nope.duckdb"),
                    "--created-at", "yesterday"], env)
    assert proc.returncode == 2
