"""The TOS rules end to end, generated from the catalogue: every rule fires on a known-bad record and stays
silent on known-good ones; the cascade; file-level rules; exit codes; determinism; privacy; GX vs SQL.

Three `iapt-idb validate` runs on CSV-directory IDBs share one dbt target path (warm partial parsing):
a valid file, one batched file with a mutated family per rule, and an empty/incomplete file.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

import validation_fixtures as vf
from conftest import isolated_env, run_cli
from iapt_idb.spec import PATIENT_IDENTIFIERS
from iapt_idb.validation.catalogue import load_rules
from iapt_idb.validation.gx import gx_rules

RULES = [r for r in load_rules() if r["status"] != "not_applicable_v21"]
BATCHED = [r for r in RULES if r["check_name"] in vf.ROW_AND_CASCADE_CHECKS]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    report: Path
    failures: list[dict[str, Any]]
    summary: dict[str, Any]
    row_status: list[dict[str, Any]]

    def keys(self, rule_code: str) -> set[tuple[str, str]]:
        return {(f["table"], f["record_key"]) for f in self.failures if f["rule_code"] == rule_code}

    def fate(self, table: str, key: str) -> dict[str, Any]:
        rows = [r for r in self.row_status if r["table_name"] == table and r["record_key"] == key]
        assert len(rows) == 1, (table, key, rows)
        return rows[0]


@pytest.fixture(scope="session")
def val_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("validation")
    vf.empty_warehouse(work)
    return work


def validate(work: Path, source: Path, report: Path, *extra: str) -> Run:
    env = isolated_env(work, warehouse=work / "empty_warehouse.duckdb")
    env["IAPT_VALIDATE_SCRATCH"] = str(work / "scratch")
    proc = run_cli(["validate", str(source), "--period", vf.PERIOD, "--report", str(report), *extra], env)
    assert proc.returncode in (0, 1), f"validate failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-5000:]}"
    con = duckdb.connect(str(work / "scratch" / "validate.duckdb"), read_only=True)
    try:
        cur = con.execute("select table_name, row_id, record_key, kept, fate, cascade_rules "
                          "from main_validation.tos_row_status")
        names = [d[0] for d in cur.description]
        status = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
    return Run(
        proc.returncode, proc.stdout, proc.stderr, report,
        json.loads((report / "validation_report.json").read_text(encoding="utf-8")),
        json.loads((report / "summary.json").read_text(encoding="utf-8")),
        status,
    )


@pytest.fixture(scope="session")
def valid_run(val_work: Path) -> Run:
    src = vf.write_csv_dir(vf.valid_idb(2), val_work / "valid_csv")
    return validate(val_work, src, val_work / "valid_report", "--no-gx")


@pytest.fixture(scope="session")
def mutation_case() -> tuple[vf.Idb, list[tuple[str, str, str]], list[str]]:
    return vf.mutation_idb(RULES)


@pytest.fixture(scope="session")
def mutation_run(val_work: Path, mutation_case) -> Run:
    src = vf.write_csv_dir(mutation_case[0], val_work / "mutation_csv")
    return validate(val_work, src, val_work / "mutation_report")


@pytest.fixture(scope="session")
def empty_run(val_work: Path) -> Run:
    idb = vf.empty_idb()
    src = vf.write_csv_dir(idb, val_work / "empty_csv")
    (src / "IDS902CarePersQual.csv").unlink()  # a table missing: IDSREJ001
    with (src / "IDS007DisabilityType.csv").open("w", encoding="utf-8") as fh:
        fh.write("LocalPatientId\n")  # a column missing: IDSREJ001
    return validate(val_work, src, val_work / "empty_report", "--no-gx")


# ---------------------------------------------------------------------------------------------------

def test_known_good_file_is_accepted(valid_run: Run) -> None:
    assert valid_run.code == 0
    assert valid_run.failures == []
    assert valid_run.summary["predicted_outcome"] == "accepted"
    assert all(t["rows_kept"] == t["rows_submitted"] for t in valid_run.summary["tables"])
    assert sum(t["rows_submitted"] for t in valid_run.summary["tables"]) == 2 * 20 + 1
    assert "Predicted outcome: accepted" in valid_run.stdout


@pytest.mark.parametrize("rule", BATCHED, ids=[r["rule_code"] for r in BATCHED])
def test_rule_fires_on_its_known_bad_record(rule: dict[str, Any], mutation_case, mutation_run: Run) -> None:
    expected = [(t, k) for code, t, k in mutation_case[1] if code == rule["rule_code"]]
    assert expected, f"no mutation generated for {rule['rule_code']}"
    got = mutation_run.keys(rule["rule_code"])
    for table, key in expected:
        assert (table, key) in got, f"{rule['rule_code']} not reported on {table} {key}"
    severities = {f["severity"] for f in mutation_run.failures if f["rule_code"] == rule["rule_code"]}
    assert severities == {rule["severity"]}


def test_known_good_records_get_no_failure(mutation_case, mutation_run: Run) -> None:
    good = set(mutation_case[2])
    assert not [f for f in mutation_run.failures if f["record_key"] in good]
    for key in good:
        assert all(r["kept"] for r in mutation_run.row_status if r["record_key"] == key)


def test_file_level_rules(empty_run: Run, mutation_run: Run) -> None:
    assert empty_run.code == 1
    codes = {f["rule_code"] for f in empty_run.failures}
    assert codes == {"IDSREJ001", "IDSREJ002", "IDSREJ003", "IDSREJ004", "IDSREJ005", "IDSREJ012", "IDSREJ015",
                     "IDSREJ101"}
    structure = {(f["table"], f["columns"]) for f in empty_run.failures if f["rule_code"] == "IDSREJ001"}
    assert ("IDS902CarePersQual", "") in structure and ("IDS007DisabilityType", "DisabCode") in structure
    assert "FILE REJECTED" in empty_run.stdout
    # several header rows in the batched file: the platform rejects it (IDSREJ015), and the mutated
    # NHS numbers / postcodes / birth dates each reject the whole file too
    assert mutation_run.code == 1
    reasons = {r["rule_code"] for r in mutation_run.summary["file_reasons"]}
    assert {"IDSREJ006", "IDSREJ007", "IDSREJ008", "IDSREJ009", "IDSREJ010", "IDSREJ015"} <= reasons


def test_cascade_removes_a_patient_whose_only_referral_is_rejected(mutation_run: Run) -> None:
    fam = vf.cascade_families()["only"]
    k = {t: vf.record_key(t, rows[0]) for t, rows in fam.items()}
    assert mutation_run.fate("IDS101Referral", k["IDS101Referral"])["fate"] == "record_rejected"
    assert ("IDS101Referral", k["IDS101Referral"]) in mutation_run.keys("IDS10112")
    expected_ri = {
        "IDS001MPI": "IDS00146", "IDS002GP": "IDS00220", "IDS003AccommStatus": "UNPUBLISHED(IDS003-RI)",
        "IDS004EmpStatus": "IDS00401", "IDS201CareContact": "IDS20142", "IDS202CareActivity": "IDS20224",
        "IDS607CodedScoreAssessmentAct": "IDS60708", "IDS606CodedScoreAssessmentRefer": "IDS60612",
        "IDS105OnwardReferral": "IDS10510", "IDS803CareCluster": "IDS80301",
    }
    for table, code in expected_ri.items():
        row = mutation_run.fate(table, k[table])
        assert row["fate"] == "group_rejected" and code in row["cascade_rules"], (table, row)
        assert (table, k[table]) in mutation_run.keys(code)
    # every row of the family goes; the stand-alone staff table stays
    for table in fam:
        kept = mutation_run.fate(table, k[table])["kept"]
        assert kept == (table == "IDS902CarePersQual"), table


def test_cascade_keeps_a_patient_with_another_valid_referral(mutation_run: Run) -> None:
    fam = vf.cascade_families()["one_of_two"]
    bad, good = fam["IDS101Referral"]
    assert not mutation_run.fate("IDS101Referral", vf.record_key("IDS101Referral", bad))["kept"]
    assert mutation_run.fate("IDS101Referral", vf.record_key("IDS101Referral", good))["kept"]
    for table in ("IDS001MPI", "IDS002GP", "IDS004EmpStatus"):
        assert mutation_run.fate(table, vf.record_key(table, fam[table][0]))["kept"], table
    contact = mutation_run.fate("IDS201CareContact", vf.record_key("IDS201CareContact", fam["IDS201CareContact"][0]))
    assert contact["fate"] == "group_rejected" and "IDS20142" in contact["cascade_rules"]


def test_warnings_never_remove_rows(mutation_run: Run) -> None:
    warned = {(f["table"], f["record_key"]) for f in mutation_run.failures if f["severity"] == "warning"}
    errors = {(f["table"], f["record_key"]) for f in mutation_run.failures if f["severity"] != "warning"}
    only_warned = warned - errors
    assert only_warned
    removed = {(r["table_name"], r["record_key"]) for r in mutation_run.row_status if not r["kept"]}
    # a row with warnings only is removed only through the cascade (its parent was rejected)
    for table, key in only_warned & removed:
        assert mutation_run.fate(table, key)["cascade_rules"], (table, key)


def test_table_summary_counts_match_row_status(mutation_run: Run) -> None:
    for t in mutation_run.summary["tables"]:
        rows = [r for r in mutation_run.row_status if r["table_name"] == t["table"]]
        assert t["rows_submitted"] == len(rows)
        assert t["rows_kept"] == sum(r["kept"] for r in rows)
        assert t["rows_submitted"] == t["rows_kept"] + t["rows_record_rejected"] + t["rows_group_rejected"]


def test_reports_are_deterministic(val_work: Path, mutation_run: Run) -> None:
    again = validate(val_work, val_work / "mutation_csv", val_work / "mutation_report_again", "--no-gx")
    for name in ("validation_report.csv", "validation_report.json"):
        assert (mutation_run.report / name).read_bytes() == (again.report / name).read_bytes(), name
    first = dict(mutation_run.summary)
    first.pop("great_expectations")
    assert first == again.summary


def test_reports_never_show_nhs_numbers_birth_dates_or_postcodes(mutation_case, mutation_run: Run) -> None:
    idb = mutation_case[0]
    secrets = {" ".join(r[c].split()) for r in idb["IDS001MPI"] for c in PATIENT_IDENTIFIERS["IDS001MPI"]
               if r[c] and len(r[c]) >= 6}  # the real-shaped values (mutations such as '!!' also appear elsewhere)
    assert len(secrets) > 100
    # GX found postcodes it rejects (its pages would show them as samples): the test can fail
    assert mutation_run.summary["great_expectations"]["failures_by_rule"].get("IDS00125", 0) > 0
    files = sorted(p for p in mutation_run.report.rglob("*") if p.is_file())
    assert any("gx_data_docs" in p.parts for p in files)  # GX's pages, which show samples of unexpected values
    for path in files:
        # as a reader sees it: entities decoded, runs of white space as one
        text = " ".join(html.unescape(path.read_text(encoding="utf-8", errors="replace")).split())
        leaked = sorted(s for s in secrets if s in text)
        assert not leaked, f"{path.relative_to(mutation_run.report)} shows {len(leaked)} identifier(s)"
    with (mutation_run.report / "validation_report.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == ["rule_code", "severity", "table", "record_key", "columns", "message"]


def test_summary_names_rules_for_data_quality_leads(mutation_run: Run) -> None:
    rules = {r["rule_code"]: r for r in mutation_run.summary["rules"]}
    assert rules["UNPUBLISHED(IDS001-GI-2)"]["published"] is False
    assert rules["IDS20101"]["published"] is True and rules["IDS20101"]["fix_hint"]
    assert mutation_run.summary["catalogue"]["rules"] == 418
    assert "Top failing rules" in mutation_run.stdout


def test_great_expectations_agrees_with_sql(mutation_run: Run) -> None:
    gx = mutation_run.summary["great_expectations"]
    assert (mutation_run.report / gx["data_docs"]).exists()
    assert gx["expectations"] > 250 and gx["success"] is False
    sql_counts: dict[str, int] = {}
    for f in mutation_run.failures:
        sql_counts[f["rule_code"]] = sql_counts.get(f["rule_code"], 0) + 1
    checked = 0
    for r in gx_rules():
        code = r["rule_code"]
        assert gx["failures_by_rule"].get(code, 0) == sql_counts.get(code, 0), code
        checked += sql_counts.get(code, 0) > 0
    assert checked > 200


def test_dbt_tests_name_the_rule_codes(val_work: Path, mutation_run: Run) -> None:
    # validate builds the dbt data tests (severity warn, failures stored): the stored rows carry the codes
    con = duckdb.connect(str(val_work / "scratch" / "validate.duckdb"), read_only=True)
    try:
        codes = {r[0] for r in con.execute(
            'select rule_code from main_dbt_test__audit."tos_rules_pass_IDS201CareContact"').fetchall()}
    finally:
        con.close()
    assert {"IDS20101", "IDS20107", "IDS20142"} <= codes


def test_unusable_input_exits_2(val_work: Path, valid_run: Run, tmp_path: Path) -> None:
    env = isolated_env(val_work)
    missing = run_cli(["validate", str(tmp_path / "nope"), "--period", vf.PERIOD, "--report", str(tmp_path / "r")], env)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    stray = tmp_path / "idb.txt"
    stray.write_text("x", encoding="utf-8")
    wrong = run_cli(["validate", str(stray), "--period", vf.PERIOD, "--report", str(tmp_path / "r")], env)
    assert wrong.returncode == 2 and "directory of IDB CSV files" in wrong.stderr
    bad_period = run_cli(["validate", str(tmp_path), "--period", "2026-13", "--report", str(tmp_path / "r")], env)
    assert bad_period.returncode == 2 and "YYYY-MM" in bad_period.stderr
    broken = tmp_path / "broken"
    shutil.copytree(val_work / "valid_csv", broken)
    mpi = broken / "IDS001MPI.csv"
    mpi.write_text(mpi.read_text(encoding="utf-8") + 'LP1,"unterminated\n', encoding="utf-8")
    unreadable = run_cli(["validate", str(broken), "--period", vf.PERIOD, "--report", str(tmp_path / "r")], env)
    assert unreadable.returncode == 2 and "IDS001MPI.csv" in unreadable.stderr
