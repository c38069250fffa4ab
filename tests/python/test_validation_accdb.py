"""`iapt-idb validate` on an .accdb: the file is read the way the platform reads it (the project's reader)
and gets the same verdict, rule codes and record keys as the same data given as CSV files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import validation_fixtures as vf
from conftest import isolated_env, run_cli
from iapt_idb.accdb.writer import export_idb
from iapt_idb.validation.tables import table_meta

pytestmark = pytest.mark.java

DUCK = {"string": "varchar", "date": "date", "time": "time", "datetime": "timestamp", "integer": "integer"}


def _typed_marts(idb: vf.Idb, path: Path) -> Path:
    """The fixture as typed marts (the spec's types) in schema main, as `iapt-idb build` leaves them."""
    con = duckdb.connect(str(path))
    try:
        for m in table_meta():
            cols = ", ".join(f'"{c}" {DUCK[t]}' for c, t in zip(m.columns, m.types))
            con.execute(f'create table main."{m.name}" ({cols})')
            for row in idb[m.name]:
                values = [row.get(c) for c in m.columns]
                marks = ", ".join("?" for _ in values)
                con.execute(f'insert into main."{m.name}" values ({marks})', values)
    finally:
        con.close()
    return path


def test_accdb_gets_the_same_verdict_as_csv(tmp_path: Path) -> None:
    idb = vf.valid_idb(2)
    fam = vf.family(0, "M")
    good = fam["IDS001MPI"][0]["NHSNumber"]
    fam["IDS001MPI"][0]["NHSNumber"] = good[:9] + str((int(good[9]) + 1) % 10)  # IDSREJ006
    fam["IDS101Referral"][0]["EndCode"] = "99"  # IDS10136 (warning) and IDS10137 is not triggered
    fam["IDS101Referral"][0]["ServDischDate"] = "2026-10-20"
    vf.add(idb, fam)
    marts = _typed_marts(idb, tmp_path / "marts.duckdb")
    accdb = tmp_path / "IDB.accdb"
    export_idb(marts, accdb, vf.PERIOD, progress=False)

    wh = tmp_path / "wh.duckdb"
    duckdb.connect(str(wh)).close()
    env = isolated_env(tmp_path, warehouse=wh)
    proc = run_cli(["validate", str(accdb), "--period", vf.PERIOD, "--report", str(tmp_path / "acc"), "--no-gx"], env)
    assert proc.returncode == 1, proc.stderr[-3000:]
    csv_dir = vf.write_csv_dir(idb, tmp_path / "csv")
    proc2 = run_cli(["validate", str(csv_dir), "--period", vf.PERIOD, "--report", str(tmp_path / "csv_rep"),
                     "--no-gx"], env)
    assert proc2.returncode == 1, proc2.stderr[-3000:]
    from_accdb = (tmp_path / "acc" / "validation_report.csv").read_text(encoding="utf-8")
    from_csv = (tmp_path / "csv_rep" / "validation_report.csv").read_text(encoding="utf-8")
    assert "IDSREJ006" in from_accdb and "IDS10136" in from_accdb
    assert from_accdb == from_csv
