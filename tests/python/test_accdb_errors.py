"""The writer refuses bad input BEFORE any output file exists, naming table, column, row and key;
and a failure or Ctrl-C part-way leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from accdb_fixtures import PERIOD, base_db, create_accdb, fresh_dir, make_target_db, variant_db, workdir
from iapt_idb.accdb.errors import AccdbError
from iapt_idb.accdb.physical import PhysColumn, PhysTable, spec_structure
from iapt_idb.accdb.writer import export_idb

pytestmark = pytest.mark.java


def _refused(db: Path, name: str, template: Path | None = None, period: str = PERIOD) -> str:
    folder = fresh_dir(name)
    with pytest.raises(AccdbError) as info:
        export_idb(db, folder / "IDB.accdb", period, template=template, progress=False)
    assert list(folder.iterdir()) == [], "a refused export left files behind"
    return str(info.value)


def test_over_length_text_is_refused_with_table_column_row_and_key() -> None:
    db = variant_db(
        "too_long",
        "UPDATE IDS101Referral SET SourceOfReferralIAPT = 'ABC' WHERE ServiceRequestId = '31'",
        "UPDATE IDS001MPI SET Gender = '😀' WHERE LocalPatientId = '31'",  # one character, two UTF-16 units
    )
    msg = _refused(db, "too_long")
    assert "IDS101Referral.SourceOfReferralIAPT, row 3 (0-based; ServiceRequestId='31'): text is 3 characters " \
           "long; the column holds at most 2" in msg
    assert "IDS001MPI.Gender, row 3 (0-based; LocalPatientId='31'): text is 2 characters long" in msg
    assert "no file was written" in msg


def test_skip_unstorable_writes_the_rest_and_lists_each_left_out_value() -> None:
    """With skip_unstorable, rows holding a value the file cannot store are left out and listed (table, row,
    local key, column, reason) beside the file; every other row is written, and the manifest says so."""
    import csv

    from iapt_idb.accdb.writer import excluded_path

    db = variant_db(
        "skip_unstorable",
        "UPDATE IDS101Referral SET SourceOfReferralIAPT = 'ABC' WHERE ServiceRequestId = '31'",
        "UPDATE IDS001MPI SET Gender = '😀' WHERE LocalPatientId = '31'",
    )
    out = fresh_dir("skip_unstorable") / "IDB.accdb"
    manifest = export_idb(db, out, PERIOD, progress=False, skip_unstorable=True)
    rows = list(csv.DictReader(excluded_path(out).open(encoding="utf-8")))
    assert [(r["table"], r["row"], r["record_key"], r["column"]) for r in rows] == [
        ("IDS001MPI", "3", "LocalPatientId=31", "Gender"),
        ("IDS101Referral", "3", "ServiceRequestId=31", "SourceOfReferralIAPT"),
    ]
    assert all(r["reason"].startswith("text is ") for r in rows)
    assert manifest["rows_left_out_unstorable"] == {"IDS001MPI": 1, "IDS101Referral": 1}
    assert manifest["excluded_file"] == excluded_path(out).name
    con = duckdb.connect(str(base_db()), read_only=True)
    try:
        for table, n in manifest["tables"].items():
            left_out = manifest["rows_left_out_unstorable"].get(table, 0)
            assert n + left_out == con.execute(f'select count(*) from main."{table}"').fetchone()[0], table
    finally:
        con.close()


def test_out_of_range_integer_is_refused_not_wrapped() -> None:
    db = variant_db(
        "int_range",
        "ALTER TABLE IDS201CareContact ALTER COLUMN ClinContDurOfCareCont TYPE BIGINT",
        "UPDATE IDS201CareContact SET ClinContDurOfCareCont = 2147483648 WHERE CareContactId = '31'",
    )
    msg = _refused(db, "int_range")
    assert "IDS201CareContact.ClinContDurOfCareCont, row 3 (0-based; CareContactId='31'): integer 2147483648 is " \
           "outside the range of Number (Long Integer)" in msg


def test_date_access_cannot_hold_is_refused() -> None:
    db = variant_db(
        "year_range",
        "UPDATE IDS201CareContact SET CareContDate = DATE '0099-12-31' WHERE CareContactId = '31'",
    )
    msg = _refused(db, "year_range")
    assert "IDS201CareContact.CareContDate, row 3 (0-based; CareContactId='31'): year outside 100-9999, which " \
           "Access cannot store" in msg


def test_unknown_column_is_refused() -> None:
    db = variant_db("unknown_col", "ALTER TABLE IDS002GP ADD COLUMN GPNotes VARCHAR")
    msg = _refused(db, "unknown_col")
    assert "IDS002GP: column(s) GPNotes are not IDB v2.1 columns" in msg


def test_missing_table_is_refused() -> None:
    db = make_target_db(workdir() / "missing_table.duckdb", PERIOD, skip=("IDS902CarePersQual",))
    msg = _refused(db, "missing_table")
    assert "IDS902CarePersQual: the target DB has no such mart" in msg


def test_wrong_source_type_is_refused() -> None:
    db = variant_db("wrong_type", "ALTER TABLE IDS101Referral ALTER COLUMN ServDischDate TYPE VARCHAR")
    msg = _refused(db, "wrong_type")
    assert "IDS101Referral.ServDischDate: the source column has DuckDB type VARCHAR, but the IDB item is date" in msg


def test_date_item_with_a_time_of_day_is_refused() -> None:
    db = variant_db(
        "date_with_time",
        "ALTER TABLE IDS101Referral ALTER COLUMN ReferralRequestReceivedDate TYPE TIMESTAMP",
        "UPDATE IDS101Referral SET ReferralRequestReceivedDate = TIMESTAMP '2026-10-02 10:30:00' "
        "WHERE ServiceRequestId = '31'",
    )
    msg = _refused(db, "date_with_time")
    assert "IDS101Referral.ReferralRequestReceivedDate, row 3 (0-based; ServiceRequestId='31'): a date item holds " \
           "a time of day" in msg


def test_period_must_match_the_header() -> None:
    msg = _refused(base_db(), "wrong_period", period="2026-11")
    assert "IDS000Header.ReportingPeriodStartDate (row 0) is 2026-10-01, but --period 2026-11 starts on 2026-11-01" in msg


def test_non_empty_template_is_refused() -> None:
    folder = fresh_dir("full_template_src")
    template = create_accdb(folder / "full.accdb", spec_structure(),
                            rows={"IDS002GP": [["P1", "A81001", None, None]]})
    msg = _refused(base_db(), "full_template", template=template)
    assert "is not empty: IDS002GP (1 rows)" in msg


def test_mismatched_template_is_refused() -> None:
    folder = fresh_dir("bad_template_src")
    tables = []
    for t in spec_structure():
        cols = t.columns
        if t.name == "IDS101Referral":
            cols = tuple(c for c in cols if c.name != "ServDischDate")
        tables.append(PhysTable(t.name, cols))
    tables.append(PhysTable("LocalNotes", (PhysColumn("Note", "TEXT", 50),)))
    template = create_accdb(folder / "bad.accdb", tables)
    msg = _refused(base_db(), "bad_template", template=template)
    assert "IDS101Referral: missing column ServDischDate" in msg
    assert "extra table LocalNotes" in msg


def _partial_bytes(folder: Path) -> int:
    """Size of the export's partial file (0 while there is none; it may be renamed while we look). It lies
    in the export's scratch folder beside the output."""
    size = 0
    for p in folder.rglob("*.partial"):
        try:
            if p.name.endswith(".partial"):
                size = max(size, p.stat().st_size)
        except FileNotFoundError:
            continue
    return size


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupted_write_leaves_no_file(how: str) -> None:
    """Interrupt a large export while it writes: neither the .accdb, its partial file nor a manifest remain."""
    big = workdir() / "big1500k.duckdb"
    if not big.exists():
        big = variant_db(
            "big1500k",
            "INSERT INTO IDS201CareContact (CareContactId, ServiceRequestId, CareContDate, CareContTime, "
            "ClinContDurOfCareCont, AppType) SELECT printf('CC%07d', i), 'SR1', DATE '2026-10-02', TIME '09:30:00', "
            "50, '01' FROM range(1500000) t(i)",
        )
    folder = fresh_dir(f"interrupted_{how}")
    out = folder / "IDB.accdb"
    # A process started in the background by a non-interactive shell (e.g. `make test &`) inherits SIGINT as
    # ignored, and Python then installs no KeyboardInterrupt handler: restore what a terminal gives.
    code = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from iapt_idb.accdb.writer import export_idb; "
            f"export_idb({str(big)!r}, {str(out)!r}, {PERIOD!r})")
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    # interrupt once rows are being written (the partial file has grown), not at a fixed delay: the export
    # of these rows takes a few seconds, and a delay that suits a busy machine outlasts it on an idle one
    while _partial_bytes(folder) < 2_000_000:
        assert proc.poll() is None, f"the export ended before it was interrupted: {proc.stderr.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    else:
        os.kill(proc.pid, signal.SIGTERM)  # e.g. a CI timeout stopping the exporting process only
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert list(folder.iterdir()) == []
