"""Dates, times and datetimes judged as the national engine and the .accdb judge them.

- The engine's 1890-01-01 floor belongs only to its valid-date rules: the age rule (IDSREJ008) and every date
  comparison run on any parseable date, so a birth in 1889 or in year 1 rejects the file.
- A value the IDB cannot hold is a finding with a rule code (UNPUBLISHED(...-IDB) where no national rule exists).
- A CSV time that Access would store (10:00 -> 10:00:00) is a valid time; one that cannot be a time is not.

Small hand-made CSV folders through `iapt-idb validate`; synthetic data only.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import validation_fixtures as vf
from conftest import isolated_env, run_cli
from iapt_idb.paths import SPEC_DIR

BIRTH_IDB = "UNPUBLISHED(IDS001-PBD-IDB)"


def _validate(work: Path, idb: vf.Idb, name: str) -> tuple[int, list[dict[str, Any]]]:
    proc, report = vf.validate_csv(work, idb, name)
    return proc.returncode, json.loads((report / "validation_report.json").read_text(encoding="utf-8"))


def _key(table: str, fam: vf.Idb) -> str:
    return vf.record_key(table, fam[table][0])


def _found(failures: list[dict[str, Any]], table: str, key: str) -> dict[str, str]:
    """rule code -> severity of the findings on one record."""
    return {f["rule_code"]: f["severity"] for f in failures if f["table"] == table and f["record_key"] == key}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    w = tmp_path_factory.mktemp("dates")
    vf.empty_warehouse(w)
    return w


def _with_families(*changes: tuple[str, str, str | None]) -> tuple[vf.Idb, list[vf.Idb]]:
    """A valid file of two good families plus one family per (table, column, value) change."""
    idb = vf.valid_idb(2)
    fams = []
    for i, (table, column, value) in enumerate(changes):
        fam = vf.family(i, "M")
        fam[table][0][column] = value
        vf.add(idb, fam)
        fams.append(fam)
    return idb, fams


@pytest.mark.parametrize("birth", ["1889-12-31", "1066-10-14", "0001-01-01"])
def test_an_ancient_birth_date_rejects_the_file(work: Path, birth: str) -> None:
    idb, (fam,) = _with_families(("IDS001MPI", "PersonBirthDate", birth))
    code, failures = _validate(work, idb, "birth_" + birth)
    assert code == 1
    found = _found(failures, "IDS001MPI", _key("IDS001MPI", fam))
    assert found.get("IDSREJ008") == "file_reject"
    # year 1 cannot be held by an Access Date/Time at all; 1066 and 1889 can
    assert (BIRTH_IDB in found) == (birth == "0001-01-01")
    assert not [f for f in failures if birth in f["message"]], "a birth date was quoted in a message"


@pytest.fixture(scope="module")
def mixed(work: Path) -> tuple[list[vf.Idb], list[dict[str, Any]]]:
    idb, fams = _with_families(
        ("IDS001MPI", "PersonBirthDate", "abc"),
        ("IDS001MPI", "PersonBirthDate", "2026-02-30"),
        ("IDS201CareContact", "CareContTime", "10:00"),
        ("IDS201CareContact", "CareContTime", "9:05"),
        ("IDS105OnwardReferral", "OnwardReferTime", "9:05:30"),
        ("IDS201CareContact", "CareContTime", "25:00"),
        ("IDS201CareContact", "CareContTime", "10:61"),
        ("IDS201CareContact", "CareContTime", "abc"),
        ("IDS201CareContact", "CareContTime", "24:00:00"),
        ("IDS201CareContact", "CareContDate", "1880-01-01"),
        ("IDS003AccommStatus", "AccommodationTypeStartDate", "1880-01-01"),
    )
    for created in ("2026-11-02", "2026-11-02 09:00:00", "2026-11-02T25:00:00"):  # HeaderRow=2, 3, 4
        idb["IDS000Header"].append({**vf.header(), "DateTimeDatSetCreate": created})
    _, failures = _validate(work, idb, "mixed")
    return fams, failures


@pytest.mark.parametrize("i", [0, 1], ids=["abc", "2026-02-30"])
def test_an_unparseable_birth_date_is_a_record_reject(mixed, i: int) -> None:
    fams, failures = mixed
    found = _found(failures, "IDS001MPI", _key("IDS001MPI", fams[i]))
    assert found == {BIRTH_IDB: "record_reject"}


@pytest.mark.parametrize("i", [2, 3, 4], ids=["10:00", "9:05", "9:05:30"])
def test_a_time_access_would_store_is_valid(mixed, i: int) -> None:
    fams, failures = mixed
    keys = {_key(t, fams[i]) for t in ("IDS201CareContact", "IDS105OnwardReferral")}
    assert not [f for f in failures if f["record_key"] in keys]


@pytest.mark.parametrize("i", [5, 6, 7, 8], ids=["25:00", "10:61", "abc", "24:00:00"])
def test_what_cannot_be_a_time_is_rejected(mixed, i: int) -> None:
    fams, failures = mixed
    found = _found(failures, "IDS201CareContact", _key("IDS201CareContact", fams[i]))
    assert found.get("IDS20109") == "record_reject"


def test_a_date_in_the_datetime_item_is_its_midnight(mixed) -> None:
    _, failures = mixed
    assert "IDS00021" not in _found(failures, "IDS000Header", "HeaderRow=2")  # 2026-11-02
    assert "IDS00021" not in _found(failures, "IDS000Header", "HeaderRow=3")  # 2026-11-02 09:00:00
    assert _found(failures, "IDS000Header", "HeaderRow=4").get("IDS00021") == "record_reject"


def test_comparisons_run_on_a_date_before_1890(mixed) -> None:
    fams, failures = mixed
    found = _found(failures, "IDS201CareContact", _key("IDS201CareContact", fams[9]))
    assert found.get("IDS20107") == "record_reject"  # the valid-date rule keeps its floor
    assert found.get("IDS20170") == "record_reject"  # and the comparison still runs
    found = _found(failures, "IDS003AccommStatus", _key("IDS003AccommStatus", fams[10]))
    assert "UNPUBLISHED(IDS003-ATS)" in found


def _typed_columns(kinds: tuple[str, ...]) -> list[dict[str, str]]:
    with (SPEC_DIR / "idb_schema.csv").open(newline="", encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if r["data_type"] in kinds]


def _findings_per_column(work: Path, name: str, cols: list[dict[str, str]], bad, reason=None) -> list[str]:
    """Put bad(column) in each column, one record each; return the columns with no record-level finding. With
    reason (the export's words for why it leaves such a value out), the finding must be under the rule code
    that the export's excluded.csv names for it."""
    from iapt_idb.accdb.rule_codes import rule_code_for

    idb = vf.valid_idb(1)
    where: list[tuple[str, str, str]] = []
    for i, r in enumerate(cols):
        table, column = r["idb_table_name"], r["idb_column_name"]
        if table == "IDS000Header":
            row = vf.header()
            row[column] = bad(r)
            idb[table].append(row)
            where.append((table, column, f"HeaderRow={len(idb[table])}"))
            continue
        fam = vf.family(i, "M")
        fam[table][0][column] = bad(r)
        vf.add(idb, fam)
        where.append((table, column, _key(table, fam)))
    _, failures = _validate(work, idb, name)
    missed = []
    for r, (table, column, key) in zip(cols, where):
        hits = [f for f in failures if f["table"] == table and f["record_key"] == key and f["severity"] != "warning"
                and column in f["columns"].split(";")]
        if reason is not None:
            hits = [f for f in hits if f["rule_code"] == rule_code_for(table, column, reason(r))]
        if not hits:
            missed.append(f"{table}.{column}")
    return missed


def test_every_date_time_and_datetime_column_has_a_validity_rule(work: Path) -> None:
    cols = _typed_columns(("date", "time", "datetime"))
    assert len(cols) == 34
    assert _findings_per_column(work, "every_date", cols, lambda r: "abc") == []
    dated = [r for r in cols if r["data_type"] != "time"]  # the export can store any time value it is given
    year = "year outside 100-9999, which Access cannot store"
    assert _findings_per_column(work, "every_date_year", dated, lambda r: "0001-01-01", lambda r: year) == []


def test_every_text_and_integer_column_rejects_what_the_idb_cannot_store(work: Path) -> None:
    """Text longer than the IDB's column (digits, which most format rules accept) and an integer beyond the
    Access Long range: the export would leave such a record out, so the validator must say why."""
    cols = _typed_columns(("string", "integer"))

    def bad(r: dict[str, str]) -> str:
        return "2147483648" if r["data_type"] == "integer" else "1" * (int(r["max_length"]) + 1)

    def reason(r: dict[str, str]) -> str:
        return "integer 2147483648 is outside the range" if r["data_type"] == "integer" else "text is too long"

    assert _findings_per_column(work, "every_text", cols, bad, reason) == []


def test_a_year_one_date_is_never_left_out_of_the_export_without_a_rule_code(work: Path) -> None:
    """The export cannot store a year-1 date and leaves the record out; excluded.csv names the rule, and the
    validator reports that rule on the same record, at a severity that keeps the record from the platform."""
    from accdb_fixtures import variant_db
    from iapt_idb.accdb.writer import excluded_path, export_idb

    db = variant_db(
        "year_one",
        "UPDATE IDS001MPI SET PersonBirthDate = DATE '0001-01-01' WHERE LocalPatientId = '31'",
        "UPDATE IDS201CareContact SET CareContDate = DATE '0001-01-01' WHERE CareContactId = '21'",
    )
    out = work / "year_one" / "IDB.accdb"
    out.parent.mkdir()
    export_idb(db, out, vf.PERIOD, progress=False, skip_unstorable=True)
    excluded = list(csv.DictReader(excluded_path(out).open(encoding="utf-8")))
    assert [(r["table"], r["record_key"], r["column"], r["rule_code"]) for r in excluded] == [
        ("IDS001MPI", "LocalPatientId=31", "PersonBirthDate", BIRTH_IDB),
        ("IDS201CareContact", "CareContactId=21", "CareContDate", "IDS20107"),
    ]
    assert not [r for r in excluded if "0001" in r["reason"] or "0001" in r["record_key"]]

    report = work / "year_one_report"
    env = isolated_env(work / "year_one", target_db=db)
    env["IAPT_VALIDATE_SCRATCH"] = str(work / "year_one" / "scratch")
    proc = run_cli(["validate", "--target-db", str(db), "--period", vf.PERIOD, "--report", str(report), "--no-gx"],
                   env)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    failures = json.loads((report / "validation_report.json").read_text(encoding="utf-8"))
    for r in excluded:
        hits = [f for f in failures if f["table"] == r["table"] and f["rule_code"] == r["rule_code"]
                and r["record_key"] in f["record_key"].split(";")]
        assert hits and all(f["severity"] != "warning" for f in hits), r
    assert any(f["rule_code"] == "IDSREJ008" for f in failures)
