"""`iapt-idb validate` on an .accdb: the file is read the way the platform reads it (the project's reader)
and gets the same verdict, rule codes and record keys as the same data given as CSV files; a file whose
structure is not the one the platform compares it with is its file rejection IDSREJ001, difference by
difference."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import pytest

import validation_fixtures as vf
from accdb_fixtures import create_accdb
from conftest import isolated_env, run_cli
from iapt_idb.accdb import replica_session
from iapt_idb.accdb.child import run_child
from iapt_idb.accdb.physical import PhysColumn, PhysTable, spec_structure
from iapt_idb.accdb.reader import read_accdb
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


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One dbt target for the module's validations (the plan is compiled once) and an empty warehouse."""
    work = tmp_path_factory.mktemp("validate_accdb")
    wh = work / "wh.duckdb"
    duckdb.connect(str(wh)).close()
    return isolated_env(work, warehouse=wh)


def test_accdb_gets_the_same_verdict_as_csv(tmp_path: Path, env: dict[str, str]) -> None:
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


def _validate(accdb: Path, report: Path, env: dict[str, str], *extra: str) -> tuple[int, str, list[dict[str, str]]]:
    proc = run_cli(["validate", str(accdb), "--period", vf.PERIOD, "--report", str(report), "--no-gx", *extra], env)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    text = (report / "validation_report.csv").read_text(encoding="utf-8")
    return proc.returncode, proc.stdout + proc.stderr, list(csv.DictReader(io.StringIO(text)))


# Another structure the writer can fill: a Long Integer kept as a 16-bit Integer, a date as text, a wider text.
OTHER_TYPES = {("IDS000Header", "PrimSystemInUse"): PhysColumn("PrimSystemInUse", "TEXT", 40),
               ("IDS101Referral", "ServDischDate"): PhysColumn("ServDischDate", "TEXT", 10),
               ("IDS201CareContact", "ClinContDurOfCareCont"): PhysColumn("ClinContDurOfCareCont", "INT")}


def test_an_accdb_of_another_structure_is_rejected_for_each_difference_unless_it_is_the_templates(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    idb = vf.valid_idb(2)
    # a discharge (the date item kept as text below) with an end code that draws the warning IDS10136
    idb["IDS101Referral"][0].update(ServDischDate="2026-10-20", EndCode="99")
    marts = _typed_marts(idb, tmp_path / "marts.duckdb")
    template = tmp_path / "template" / "OFFICIAL_LOOKALIKE.accdb"
    template.parent.mkdir()
    create_accdb(template, [PhysTable(t.name, tuple(OTHER_TYPES.get((t.name, c.name), c) for c in t.columns))
                            for t in spec_structure()])
    other = tmp_path / "other" / "IDB.accdb"
    other.parent.mkdir()
    export_idb(marts, other, vf.PERIOD, template=template, progress=False)

    code, out, report = _validate(other, tmp_path / "other", env)
    assert code == 1, out[-3000:]
    rejections = [f for f in report if f["rule_code"] == "IDSREJ001"]
    assert {(f["table"], f["columns"], f["severity"], f["record_key"]) for f in rejections} == {
        (t, c, "file_reject", "File") for t, c in OTHER_TYPES}
    messages = {f["columns"]: f["message"] for f in rejections}
    assert "Short Text(40) in the file, Short Text(20) in the expected structure" in messages["PrimSystemInUse"]
    assert "Short Text(10) in the file, Date/Time in the expected structure" in messages["ServDischDate"]
    assert "Number (Integer) in the file, Number (Long Integer)" in messages["ClinContDurOfCareCont"]
    assert "--template" in messages["ServDischDate"]

    # the official IDB configured once (IAPT_IDB_TEMPLATE) is what the file is compared with: accepted
    configured = dict(env, IAPT_IDB_TEMPLATE=str(template))
    code, out, against_template = _validate(other, tmp_path / "against_template", configured)
    assert code == 0, out[-3000:]
    assert {f["rule_code"] for f in against_template} == {"IDS10136"}
    # the columns of another type were read as the platform reads them: every other finding is the same
    assert [f for f in report if f["rule_code"] != "IDSREJ001"] == against_template

    # the template and the file are read by one replica child: one JVM start, not one each
    tasks: list[str] = []

    def counted(task: str, payload: dict, *args: object, **kwargs: object) -> object:
        tasks.append(task)
        return run_child(task, payload, *args, **kwargs)

    monkeypatch.setattr(replica_session, "_active", None)
    monkeypatch.setattr(replica_session, "run_child", counted)
    read = read_accdb(other, tmp_path / "read.duckdb", progress=False, template=template)
    assert tasks == ["replica_load"]
    assert read.differences == [] and read.counts["IDS101Referral"] == len(idb["IDS101Referral"])


# A structure an official IDB might have: a date and a time item kept as text, an integer item as a Double.
KEPT_AS_TEXT = {("IDS101Referral", "ServDischDate"): PhysColumn("ServDischDate", "TEXT", 10),
                ("IDS201CareContact", "CareContTime"): PhysColumn("CareContTime", "TEXT", 8),
                ("IDS201CareContact", "ClinContDurOfCareCont"): PhysColumn("ClinContDurOfCareCont", "DOUBLE")}


def _cell(col: PhysColumn, value: object) -> object:
    """A fixture value as Jackcess stores it in ``col``: a Date/Time as epoch milliseconds (times on Access's
    1899-12-30), a number as a number, anything else as given."""
    if value is None or col.access_type not in ("SHORT_DATE_TIME", "LONG", "DOUBLE"):
        return value
    if col.access_type == "SHORT_DATE_TIME":
        text = str(value) if "-" in str(value) else f"1899-12-30 {value}"
        return (dt.datetime.fromisoformat(text) - dt.datetime(1970, 1, 1)) // dt.timedelta(milliseconds=1)
    return int(value) if col.access_type == "LONG" else float(value)


def test_values_of_the_wrong_form_in_items_kept_as_text_are_findings_not_an_unreadable_file(
    tmp_path: Path, env: dict[str, str],
) -> None:
    structure = [PhysTable(t.name, tuple(KEPT_AS_TEXT.get((t.name, c.name), c) for c in t.columns))
                 for t in spec_structure()]
    template = create_accdb(tmp_path / "OFFICIAL_LOOKALIKE.accdb", structure)
    idb = vf.valid_idb(2)
    idb["IDS101Referral"][0].update(ServDischDate="2026-13-45", EndCode="10")
    idb["IDS201CareContact"][0].update(CareContTime="25:99:00", ClinContDurOfCareCont="30.5")
    idb["IDS201CareContact"][1].update(ClinContDurOfCareCont="45.0")  # a whole number: the integer 45

    def rows() -> dict[str, list[list[object]]]:
        return {t.name: [[_cell(c, r.get(c.name)) for c in t.columns] for r in idb[t.name]] for t in structure}

    accdb = create_accdb(tmp_path / "IDB.accdb", structure, rows=rows())

    code, out, report = _validate(accdb, tmp_path / "r", env, "--template", str(template))
    assert code == 0, out[-3000:]  # the other family is kept
    own = sorted((f["rule_code"], f["table"], f["columns"], f["severity"]) for f in report
                 if f["severity"] == "record_reject")
    assert own == [("IDS10127", "IDS101Referral", "ServDischDate", "record_reject"),
                   ("IDS20109", "IDS201CareContact", "CareContTime", "record_reject"),
                   ("IDS20114", "IDS201CareContact", "ClinContDurOfCareCont", "record_reject")]
    assert all(f["record_key"].startswith(("ServiceRequestId=SRB0000", "CareContactId=CCB0000")) for f in report
               if f["severity"] == "record_reject")
    assert not any("IDSREJ001" in f["rule_code"] for f in report)

    # a time with a one-digit hour: the rules would take it for 09:05:00, the platform may not; unusable input
    idb["IDS201CareContact"][0].update(CareContTime="9:05")
    loose = create_accdb(tmp_path / "LOOSE.accdb", structure, rows=rows())
    proc = run_cli(["validate", str(loose), "--period", vf.PERIOD, "--report", str(tmp_path / "loose"), "--no-gx",
                    "--template", str(template)], env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "IDS201CareContact.CareContTime: a value cannot be read as time" in proc.stderr
    assert "9:05" not in proc.stderr

    # the same file against the spec structure: its columns kept as text reject it (IDSREJ001) whatever they hold
    code, out, against_spec = _validate(loose, tmp_path / "against_spec", env)
    assert code == 1, out[-3000:]
    assert {(f["table"], f["columns"]) for f in against_spec if f["rule_code"] == "IDSREJ001"} == set(KEPT_AS_TEXT)


def test_missing_and_extra_tables_and_columns_are_each_named_once_and_the_files_names_never_shown(
    tmp_path: Path, env: dict[str, str],
) -> None:
    nhs = vf.valid_idb(1)["IDS001MPI"][0]["NHSNumber"]
    tables = []
    for t in spec_structure():
        if t.name == "IDS603PresentingComplaints":
            continue
        cols = tuple(c for c in t.columns if c.name != "ServDischDate")
        if t.name == "IDS101Referral":
            cols += (PhysColumn(f"Nhs{nhs}", "TEXT", 20),)
        tables.append(PhysTable(t.name, cols))
    tables.append(PhysTable(f"Patient{nhs}", (PhysColumn("Notes", "MEMO"),)))
    path = create_accdb(tmp_path / "odd.accdb", tables)

    code, out, report = _validate(path, tmp_path / "odd", env)
    assert code == 1, out[-3000:]
    rejections = sorted((f["table"], f["columns"], f["message"].split(" (IDSREJ001")[0])
                        for f in report if f["rule_code"] == "IDSREJ001")
    assert rejections == [
        ("", "", "odd.accdb: the file has 1 table(s) the expected structure does not (names not shown: run "
                 "'iapt-idb structure' on the file to list them)"),
        ("IDS101Referral", "", "odd.accdb: table IDS101Referral in the file has 1 column(s) the expected structure "
                               "does not (names not shown: run 'iapt-idb structure' on the file to list them)"),
        ("IDS101Referral", "ServDischDate", "odd.accdb: table IDS101Referral in the file has no column ServDischDate"),
        ("IDS603PresentingComplaints", "", "odd.accdb: the file has no table IDS603PresentingComplaints"),
    ]
    texts = out + "".join(p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "odd").rglob("*")
                          if p.is_file())
    assert nhs not in texts


def test_a_template_is_refused_for_any_source_but_an_accdb_and_a_configured_one_left_aside(
    tmp_path: Path, env: dict[str, str],
) -> None:
    csv_dir = vf.write_csv_dir(vf.valid_idb(1), tmp_path / "csv")
    template = tmp_path / "t.accdb"
    template.write_bytes(b"")
    proc = run_cli(["validate", str(csv_dir), "--period", vf.PERIOD, "--report", str(tmp_path / "r"), "--no-gx",
                    "--template", str(template)], env)
    assert proc.returncode == 2 and "--template applies to an .accdb SOURCE only" in proc.stderr
    assert not (tmp_path / "r").exists()
    code, out, _ = _validate(csv_dir, tmp_path / "r", dict(env, IAPT_IDB_TEMPLATE=str(template)))
    assert code == 0, out[-3000:]

    # for an .accdb, a template that is not there is unusable input, named before the report folder is touched
    source = create_accdb(tmp_path / "IDB.accdb", spec_structure())
    missing = tmp_path / "moved" / "OFFICIAL.accdb"
    proc = run_cli(["validate", str(source), "--period", vf.PERIOD, "--report", str(tmp_path / "r"), "--no-gx"],
                   dict(env, IAPT_IDB_TEMPLATE=str(missing)))
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"template {missing} (set by IAPT_IDB_TEMPLATE): no such file" in proc.stderr
    assert (tmp_path / "r" / "summary.json").exists()  # the earlier run's reports are left as they were


def test_a_template_the_platforms_reader_cannot_open_is_unusable_input(tmp_path: Path, env: dict[str, str]) -> None:
    source = create_accdb(tmp_path / "IDB.accdb", spec_structure())
    template = create_accdb(tmp_path / "NEWER.accdb", spec_structure(), file_format="V2019")
    proc = run_cli(["validate", str(source), "--period", vf.PERIOD, "--report", str(tmp_path / "r"), "--no-gx",
                    "--template", str(template)], env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"template {template}" in proc.stderr and "Unsupported newer version" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r" / "summary.json").exists()

    # a template without a spec column would let a file without it through: the platform's SELECT needs it
    lacking = create_accdb(tmp_path / "LACKING.accdb", [
        PhysTable(t.name, tuple(c for c in t.columns if c.name != "ServDischDate")) for t in spec_structure()])
    proc = run_cli(["validate", str(source), "--period", vf.PERIOD, "--report", str(tmp_path / "r"), "--no-gx",
                    "--template", str(lacking)], env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert (f"template {lacking}: not the official empty IAPT v2.1 IDB (1 difference(s) in its tables and columns "
            "from the spec, first: no column IDS101Referral.ServDischDate)") in proc.stderr
