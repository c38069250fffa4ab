"""compare_outputs (the before/after proof's tool) on tiny hand-made output folders: identical folders pass,
a changed byte in the validation report and a changed row in the .accdb are found and named (file, rule
code, table, row, column) without printing the values."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import accdb_fixtures as fx
from iapt_idb.spec import load_tables
from iapt_idb.tools import compare_outputs as co

pytestmark = pytest.mark.java

REPORT = ("rule_code,severity,table,record_key,columns,message\n"
          "IDS10104,record_reject,IDS101Referral,SR0001,ServiceRequestId,ServiceRequestId is blank\n"
          "IDS00116,warning,IDS001MPI,P0002,Postcode,Postcode is not in the national format\n")
SUMMARY = '{\n  "period": "2026-10",\n  "predicted_outcome": "accepted",\n  "tables": [{"rows_kept": 4}]\n}\n'


def _folder(root: Path, accdb: Path, report: str = REPORT, summary: str = SUMMARY) -> Path:
    (root / "validation").mkdir(parents=True)
    (root / "validation" / "validation_report.csv").write_text(report, encoding="utf-8")
    (root / "validation" / "summary.json").write_text(summary, encoding="utf-8")
    (root / "marts").mkdir()
    (root / "marts" / "IDS001MPI.csv").write_text("LocalPatientId,Postcode\nP0001,LS1 4AP\n", encoding="utf-8")
    shutil.copyfile(accdb, root / "IAPT_IDB_2026-10.accdb")
    (root / "run.json").write_text(str(root), encoding="utf-8")  # times and paths: never compared
    return root


def _changed_row_accdb() -> tuple[Path, str, str]:
    """The fixture's marts with one text value of one row changed, exported: (file, table, column)."""
    from iapt_idb.accdb.writer import export_idb

    table = next(t for t in load_tables() if t.name == "IDS101Referral")
    column = next(c.name for c in table.columns[2:] if c.data_type == "string" and (c.max_length or 0) >= 6)
    db = fx.variant_db("compare_one_row", f"update main.\"{table.name}\" set \"{column}\" = 'QQ9999' "
                                          f"where rowid = (select min(rowid) + 1 from main.\"{table.name}\")")
    out = fx.fresh_dir("compare_changed") / "IAPT_IDB_2026-10.accdb"
    export_idb(db, out, fx.PERIOD, progress=False)
    return out, table.name, column


def test_compare_finds_a_changed_report_byte_and_a_changed_accdb_row(tmp_path: Path, capsys) -> None:
    fx.replica()  # one replica JVM for the read-backs
    base, _ = fx.exported()
    a = _folder(tmp_path / "a", base)
    same = _folder(tmp_path / "same", base)
    assert co.main(["compare", str(a), str(same)]) == 0
    out = capsys.readouterr().out
    assert "every table row for row identical" in out and "IDENTICAL: 4 file(s) identical" in out

    # one byte of the report (a record key's last digit) and one value of one IDB row
    changed, table, column = _changed_row_accdb()
    b = _folder(tmp_path / "b", changed, report=REPORT.replace("SR0001", "SR0009"),
                summary=SUMMARY.replace('"rows_kept": 4', '"rows_kept": 3'))
    assert co.main(["compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    results = {r.path: r for r in co.compare(a, b)}
    report = results["validation/validation_report.csv"]
    assert report.status == "different"
    assert "IDS10104 only in A: 1" in report.details and "IDS10104 only in B: 1" in report.details
    assert not any("IDS00116" in d for d in report.details)  # the unchanged row is not reported
    summary = results["validation/summary.json"]
    assert summary.status == "different" and "$.tables[0].rows_kept: 4 -> 3" in summary.details
    idb = results["IAPT_IDB_2026-10.accdb"]
    assert idb.status == "different"
    (row_line,) = [d for d in idb.details if d.startswith(f"table {table}:")]
    assert row_line == f"table {table}: rows 4 -> 4; 1 row(s) differ, first at row 2, in column(s) {column}"
    assert all(r.status == "identical" for p, r in results.items() if p.startswith("marts/"))
    # never a value: not the report's record keys, not the IDB's changed text
    assert "SR0001" not in out and "SR0009" not in out and "QQ9999" not in out
    assert "DIFFERENT:" in out and "run.json" not in out


def test_compare_refuses_a_missing_folder(tmp_path: Path, capsys) -> None:
    assert co.main(["compare", str(tmp_path / "nope"), str(tmp_path)]) == 2
    assert "is not a folder of outputs" in capsys.readouterr().err
